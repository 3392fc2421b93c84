// Company lookup by tax number (INN), for the staff forms that add a store or a
// partner: the INN's check digits checked here (a mistyped number never asks the
// server), then `lookupCompany` fills the form's name and address, unless the person
// has typed them. The INN itself is a lookup helper only: the store and partner APIs
// do not take it, so the forms do not send it. `innCheck`, `companyName`, `foundText` and
// `lookupFailure` are pure, for the unit tests.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';

const TEN = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const ELEVENTH = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const TWELFTH = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

/** The check digit of `digits` under `weights`: the weighted sum modulo 11, then 10. */
function checkDigit(digits, weights) {
  return (weights.reduce((sum, weight, i) => sum + weight * digits[i], 0) % 11) % 10;
}

/**
 * An INN as typed (spaces dropped, as the server drops them). `state`:
 * - `empty`; `typing` (fewer than 10 digits, or 11: more may come);
 * - `digits` (something other than digits), `long` (more than 12);
 * - `invalid` (10 or 12 digits whose check digits do not add up);
 * - `valid` (10 digits: a company; 12: a sole trader), with `inn` the digits.
 */
export function innCheck(input) {
  const text = String(input ?? '').replace(/\s+/g, '');
  if (!text) return { inn: null, state: 'empty' };
  if (!/^\d+$/.test(text)) return { inn: null, state: 'digits' };
  if (text.length > 12) return { inn: null, state: 'long' };
  if (text.length !== 10 && text.length !== 12) return { inn: null, state: 'typing' };
  const d = [...text].map(Number);
  const valid =
    text.length === 10
      ? checkDigit(d, TEN) === d[9]
      : checkDigit(d, ELEVENTH) === d[10] && checkDigit(d, TWELFTH) === d[11];
  return valid ? { inn: text, state: 'valid' } : { inn: null, state: 'invalid' };
}

/** The name a form takes from a company: its short name when the register has one. */
export function companyName(company) {
  return (company?.short_name || company?.name || '').trim();
}

// Literal keys, so the dictionary test sees each of them.
const STATUS_WORDS = {
  liquidating: () => t('company.status.liquidating'),
  liquidated: () => t('company.status.liquidated'),
  bankrupt: () => t('company.status.bankrupt'),
  reorganizing: () => t('company.status.reorganizing'),
};

/** What the register says of a company, in one line: name, status when not active. */
export function foundText(company) {
  const status = company.status && company.status !== 'active' ? company.status : null;
  return status
    ? t('company.foundStatus', { name: company.name, status: STATUS_WORDS[status]?.() ?? status })
    : t('company.found', { name: company.name });
}

/** Why the lookup did not fill the form, in words (a refusal the person can act on). */
export function lookupFailure(error) {
  if (error?.status === 404) return t('company.notFound');
  if (error?.status === 503) return t('company.unavailable');
  if (error?.status === 429)
    return error.retryAfter ? t('company.tooManyIn', { s: error.retryAfter }) : t('company.tooMany');
  if (error?.code === 'network') return t('company.unavailable');
  return error?.detail || t('company.unavailable');
}

/**
 * Adds the lookup to a `form()` that has an `inn` field: `fill` maps the form's field
 * names to what they take from the company (`(company) => text`). Typing 10 or 12
 * digits checks them, then asks the register (once per number: an answer or a "not
 * found" is remembered); a field the person has typed in is left alone. Returns { status } (the line under the INN field).
 */
export function attachCompanyLookup(f, { fill }) {
  const input = f.input('inn');
  const wrapper = f.field('inn');
  const message = wrapper.querySelector('.field-error');
  const status = h('div', { class: 'hint company-status', 'data-testid': 'company-lookup', 'aria-live': 'polite' });
  message.after(status);
  const typed = new Set();
  for (const name of Object.keys(fill)) {
    // Filling sets values without an input event: only the person's typing counts.
    f.input(name)?.addEventListener('input', () => typed.add(name));
  }
  let controller = null;
  let asked = null;
  const known = new Map(); // INN → the register's answer, so retyping asks no more

  function say(text, state) {
    replace(status, text ?? '');
    if (state) status.dataset.state = state;
    else delete status.dataset.state;
  }

  function markWrong(text) {
    message.textContent = text;
    input.setAttribute('aria-invalid', 'true');
  }

  function clearWrong() {
    message.textContent = '';
    input.removeAttribute('aria-invalid');
  }

  function found(company) {
    for (const [name, take] of Object.entries(fill)) {
      const field = f.input(name);
      if (!field || (typed.has(name) && field.value.trim())) continue;
      const value = take(company);
      if (value) f.setValue(name, value);
    }
    say(foundText(company), 'found');
  }

  const ask = debounce(async (inn) => {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    say(t('company.looking'), 'looking');
    try {
      const company = await api(`/companies/${inn}`, { signal: mine.signal });
      if (mine.signal.aborted) return;
      known.set(inn, company);
      found(company);
    } catch (error) {
      if (error.name === 'AbortError' || mine.signal.aborted) return;
      if (error.status === 404) known.set(inn, null);
      else asked = null; // the same number may be asked again (the register came back)
      say(lookupFailure(error), error.status === 404 ? 'not_found' : 'failed');
    }
  }, 300);

  input.addEventListener('input', () => {
    const { inn, state } = innCheck(input.value);
    if (state === 'valid') {
      clearWrong();
      if (inn === asked) return;
      asked = inn;
      if (known.has(inn)) {
        ask.cancel();
        controller?.abort();
        const company = known.get(inn);
        if (company) found(company);
        else say(t('company.notFound'), 'not_found');
      } else {
        ask(inn);
      }
      return;
    }
    ask.cancel();
    controller?.abort();
    asked = null;
    say('');
    if (state === 'invalid') markWrong(t('company.checkDigits'));
    else if (state === 'digits') markWrong(t('company.digits'));
    else if (state === 'long') markWrong(t('company.length'));
    else clearWrong();
  });

  f.el.addEventListener('reset', () => {
    typed.clear();
    ask.cancel();
    controller?.abort();
    asked = null;
    say('');
    clearWrong();
  });

  return { status };
}
