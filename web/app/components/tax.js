// The program as tax agent, shared by the staff page (/admin/tax), the participant's
// page (/tax) and a person's page: the tax rule in words, the rule form's checks (the
// server's own: `TaxRule::check`, amounts with at most two decimals, rates 0–99 with at
// most four), the presets, the check digits of a person's tax number (INN), the scale
// editor, and the certificate of income for a year with its year picker and print
// button. Amounts travel as decimal strings and are compared on BigInt hundredths.

import { h, replace, uid } from '../dom.js';
import { t, locale, decimalSeparator } from '../i18n.js';
import { api } from '../api.js';
import { points, toCents, isZero } from '../format.js';
import { problemBox } from './problem.js';

/** The server's limits (`TaxRule::check`, `Percent`, the years `check_year` takes). */
export const MOMENTS = ['redemption', 'accrual'];
export const BEARERS = ['participant', 'organiser'];
export const MAX_RATE = 99;
export const RATE_DIGITS = 4;
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;

/**
 * Presets: the whole rule but the switch. Prizes in advertising campaigns (35 % of a
 * year's prizes above 4,000, withheld when they are received: the server's default);
 * personal income tax (13 % up to 2,400,000 a year, 15 % above, from the first rouble).
 */
export const PRESETS = {
  prizes: {
    moment: 'redemption',
    bearer: 'participant',
    exemption: '4000.00',
    scale: [{ above: '0.00', rate: '35' }],
  },
  income: {
    moment: 'accrual',
    bearer: 'participant',
    exemption: '0.00',
    scale: [
      { above: '0.00', rate: '13' },
      { above: '2400000.00', rate: '15' },
    ],
  },
};

// Literal keys, so the dictionary test sees each of them.
export const PRESET_LABELS = {
  prizes: () => t('tax.preset.prizes'),
  income: () => t('tax.preset.income'),
};
export const MOMENT_LABELS = {
  redemption: () => t('tax.moment.redemption'),
  accrual: () => t('tax.moment.accrual'),
};
export const BEARER_LABELS = {
  participant: () => t('tax.bearer.participant'),
  organiser: () => t('tax.bearer.organiser'),
};
const HOW = {
  'participant.redemption': () => t('tax.how.participant.redemption'),
  'participant.accrual': () => t('tax.how.participant.accrual'),
  'organiser.redemption': () => t('tax.how.organiser.redemption'),
  'organiser.accrual': () => t('tax.how.organiser.accrual'),
};

// ---- tax numbers ------------------------------------------------------------------

const ELEVENTH = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const TWELFTH = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

/** The check digit of `digits` under `weights`: the weighted sum modulo 11, then 10. */
function checkDigit(digits, weights) {
  return (weights.reduce((sum, weight, i) => sum + weight * digits[i], 0) % 11) % 10;
}

/** Whether `text` is a person's INN: 12 digits whose last two are its check digits. */
export function innValid(text) {
  if (!/^\d{12}$/.test(String(text ?? ''))) return false;
  const digits = [...text].map(Number);
  return checkDigit(digits, ELEVENTH) === digits[10] && checkDigit(digits, TWELFTH) === digits[11];
}

/**
 * Checks a person's tax number as typed (spaces are dropped, as the server drops
 * them). Returns `{ tax_id, error }`: the number to send, or the reason it is wrong.
 */
export function checkTaxId(input) {
  const text = String(input ?? '').replace(/\s+/g, '');
  let error = null;
  if (!text) error = t('tax.inn.required');
  else if (!/^\d+$/.test(text)) error = t('tax.inn.digits');
  else if (text.length === 10) error = t('tax.inn.company');
  else if (text.length !== 12) error = t('tax.inn.length');
  else if (!innValid(text)) error = t('tax.inn.check');
  return { tax_id: error ? null : text, error };
}

// ---- amounts and rates as typed ---------------------------------------------------

const TYPED = /^(\d+)(?:\.(\d*))?$/;

/** What a person typed as a number: spaces out, a decimal comma as a point. */
function typed(input) {
  return String(input ?? '')
    .replace(/[\s\u202f\u2009\u00a0]/g, '')
    .replace(',', '.');
}

/** An amount of 0 or more with at most two decimals ("4 000,5" → "4000.50"), or null. */
export function parseMoney(input) {
  const match = TYPED.exec(typed(input));
  if (!match || (match[2] ?? '').length > 2 || match[1].length > 13) return null;
  const cents = BigInt(match[1]) * 100n + BigInt(((match[2] ?? '') + '00').slice(0, 2));
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}

/** A rate from 0 to 99 percent with at most four decimals ("13,50" → "13.5"), or null. */
export function parseRate(input) {
  const match = TYPED.exec(typed(input));
  if (!match || (match[2] ?? '').length > RATE_DIGITS || match[1].length > 3) return null;
  const whole = BigInt(match[1]);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (whole > BigInt(MAX_RATE) || (whole === BigInt(MAX_RATE) && fraction)) return null;
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** An amount as a form shows it for editing: "4000.00" → "4000", "12.50" stays. */
export function editable(amount) {
  return String(amount ?? '').replace(/\.0+$/, '');
}

/** A percent in the page's language: "13.5" → "13.5 %" / "13,5 %". */
export function percent(rate) {
  return t('tax.percent', { n: String(rate ?? '').replace('.', decimalSeparator) });
}

// ---- the rule ---------------------------------------------------------------------

/**
 * Checks the rule form's values (`enabled`, `moment`, `bearer`, `exemption`, `scale`:
 * [{above, rate}] as typed) as the server will. Returns `{ rule, errors }`: the rule as
 * the API takes it (null when anything is wrong) and the field errors, a step's under
 * `scale.{i}.above` or `scale.{i}.rate`.
 */
export function checkTaxForm(values) {
  const errors = [];
  if (!MOMENTS.includes(values.moment)) errors.push({ field: 'moment', message: t('tax.momentPick') });
  if (!BEARERS.includes(values.bearer)) errors.push({ field: 'bearer', message: t('tax.bearerPick') });
  const exemption = parseMoney(values.exemption);
  if (exemption === null) errors.push({ field: 'exemption', message: t('tax.amountFormat') });
  const steps = Array.isArray(values.scale) ? values.scale : [];
  if (!steps.length) errors.push({ field: 'scale', message: t('tax.scaleEmpty') });
  const scale = [];
  let before = null; // the last step's amount that could be read
  steps.forEach((step, i) => {
    const above = parseMoney(step.above);
    if (above === null) errors.push({ field: `scale.${i}.above`, message: t('tax.amountFormat') });
    else if (i === 0 && !isZero(above)) errors.push({ field: `scale.${i}.above`, message: t('tax.firstStep') });
    else if (before !== null && toCents(above) <= toCents(before))
      errors.push({ field: `scale.${i}.above`, message: t('tax.stepOrder', { amount: points(before) }) });
    if (above !== null) before = above;
    const rate = parseRate(step.rate);
    if (rate === null) errors.push({ field: `scale.${i}.rate`, message: t('tax.rateRange', { max: MAX_RATE }) });
    scale.push({ above, rate });
  });
  if (errors.length) return { rule: null, errors };
  return {
    rule: { enabled: Boolean(values.enabled), moment: values.moment, bearer: values.bearer, exemption, scale },
    errors,
  };
}

/** The form's values for a rule (as the API sends it). */
export function taxValues(rule) {
  return {
    enabled: Boolean(rule?.enabled),
    moment: MOMENTS.includes(rule?.moment) ? rule.moment : 'redemption',
    bearer: BEARERS.includes(rule?.bearer) ? rule.bearer : 'participant',
    exemption: editable(rule?.exemption ?? '0'),
    scale: (rule?.scale?.length ? rule.scale : [{ above: '0', rate: '' }]).map((s) => ({
      above: editable(s.above),
      rate: String(s.rate ?? ''),
    })),
  };
}

/**
 * The form field a server error on `rule` belongs under: the exemption when the
 * server names it, else the scale (every other check of the rule is the scale's).
 */
export function taxRuleField(message) {
  return /exemption/i.test(String(message ?? '')) ? 'exemption' : 'scale';
}

/** The steps of a scale of more than one step in words: "13 % up to 2 400 000.00, 15 % above 2 400 000.00". */
function describeSteps(scale) {
  return scale
    .map((step, i) => {
      const rate = percent(step.rate);
      const next = scale[i + 1];
      if (i === 0) return t('tax.step.first', { rate, to: points(next.above) });
      if (!next) return t('tax.step.last', { rate, from: points(step.above) });
      return t('tax.step.middle', { rate, from: points(step.above), to: points(next.above) });
    })
    .join(', ');
}

/**
 * A rule in plain words: what is taxed, when, and who pays ("35 % of each person’s
 * yearly income above 4 000.00 is withheld from their points when they redeem
 * points…"), or that tax is off.
 */
export function describeTaxRule(rule) {
  if (!rule?.enabled) return t('tax.rule.off');
  const scale = rule.scale ?? [];
  const how = HOW[`${rule.bearer}.${rule.moment}`]?.() ?? `${rule.bearer} ${rule.moment}`;
  const free = !isZero(rule.exemption);
  const exemption = points(rule.exemption);
  const sentences = [];
  if (scale.length === 1) {
    const rate = percent(scale[0].rate);
    sentences.push(
      free ? t('tax.rule.flat', { rate, exemption, how }) : t('tax.rule.flatAll', { rate, how }),
    );
  } else {
    const steps = describeSteps(scale);
    sentences.push(free ? t('tax.rule.scale', { exemption, steps }) : t('tax.rule.scaleAll', { steps }));
    sentences.push(t('tax.rule.then', { how }));
  }
  sentences.push(rule.bearer === 'organiser' ? t('tax.rule.grossUp') : t('tax.rule.notWithheld'));
  return sentences.join(' ');
}

// ---- the scale editor -------------------------------------------------------------

/**
 * The scale as editable rows "from amount — rate %", the first from 0 (the server's
 * rule), with a button to add a step and one to remove each step but the first. A
 * `custom` field of the form: `value()` is the rows as typed; `set(scale)` fills them
 * (a preset, the saved rule); `showErrors(errors)` puts `scale.{i}.…` errors under
 * their rows and returns the rest. Returns { el, value, set, showErrors }.
 */
export function scaleEditor(scale = []) {
  const list = h('ol', { class: 'tax-steps' });
  const add = h(
    'button',
    { type: 'button', class: 'secondary small', 'data-action': 'add-step', onclick: () => addStep() },
    t('tax.step.add'),
  );
  const el = h('div', { class: 'tax-scale', role: 'group', 'aria-label': t('tax.scale'), tabindex: -1 }, list, add);
  let rows = [];

  function label(row, i) {
    const n = i + 1;
    row.above.setAttribute('aria-label', t('tax.step.fromLabel', { n }));
    row.rate.setAttribute('aria-label', t('tax.step.rateLabel', { n }));
    row.remove.setAttribute('aria-label', t('tax.step.removeLabel', { n }));
    row.remove.hidden = i === 0;
    row.above.readOnly = i === 0;
    if (i === 0) row.above.value = '0';
    row.el.dataset.step = String(i);
  }

  function addStep(step = { above: '', rate: '' }, { focus = true } = {}) {
    const message = h('div', { class: 'field-error', id: uid('step-msg'), 'aria-live': 'polite' });
    const input = (name, value) =>
      h('input', {
        type: 'text',
        name: `step-${name}`,
        inputmode: 'decimal',
        autocomplete: 'off',
        value,
        'aria-describedby': message.id,
      });
    const row = { above: input('above', step.above), rate: input('rate', step.rate), message };
    row.remove = h(
      'button',
      {
        type: 'button',
        class: 'small secondary',
        'data-action': 'remove-step',
        onclick: () => {
          rows = rows.filter((r) => r !== row);
          row.el.remove();
          rows.forEach(label);
          el.dispatchEvent(new Event('input', { bubbles: true }));
          (rows[rows.length - 1]?.rate ?? add).focus();
        },
      },
      '×',
    );
    row.el = h(
      'li',
      { class: 'tax-step' },
      h(
        'div',
        { class: 'tax-step-fields' },
        h('span', { class: 'tax-step-word' }, t('tax.step.from')),
        row.above,
        h('span', { 'aria-hidden': 'true' }, '—'),
        row.rate,
        h('span', { 'aria-hidden': 'true' }, '%'),
        row.remove,
      ),
      message,
    );
    rows.push(row);
    list.append(row.el);
    label(row, rows.length - 1);
    if (focus && rows.length > 1) row.above.focus();
    el.dispatchEvent(new Event('input', { bubbles: true }));
    return row;
  }

  function set(next) {
    rows = [];
    replace(list);
    const steps = next?.length ? next : [{ above: '0', rate: '' }];
    for (const step of steps) addStep({ above: editable(step.above), rate: String(step.rate ?? '') }, { focus: false });
  }

  function showErrors(errors) {
    for (const row of rows) {
      replace(row.message);
      row.above.removeAttribute('aria-invalid');
      row.rate.removeAttribute('aria-invalid');
    }
    const rest = [];
    for (const e of errors) {
      const match = /^scale\.(\d+)\.(above|rate)$/.exec(e.field);
      const row = match && rows[Number(match[1])];
      if (!row) {
        rest.push(e);
        continue;
      }
      row[match[2]].setAttribute('aria-invalid', 'true');
      row.message.textContent = row.message.textContent ? `${row.message.textContent} ${e.message}` : e.message;
    }
    return rest;
  }

  set(scale);
  return {
    el,
    value: () => rows.map((r) => ({ above: r.above.value.trim(), rate: r.rate.value.trim() })),
    set,
    showErrors,
  };
}

// ---- certificates -----------------------------------------------------------------

const monthFormat = new Intl.DateTimeFormat(locale, { month: 'long', timeZone: 'UTC' });

/** 1–12 → "January" / "Январь". */
export function monthName(month) {
  const name = monthFormat.format(new Date(Date.UTC(2000, Number(month) - 1, 1)));
  return name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
}

/** The years a picker offers: this year first, back four years (not before 2000). */
export function yearOptions(today = new Date()) {
  const year = Math.min(Math.max(today.getFullYear(), MIN_YEAR), MAX_YEAR);
  const years = [];
  for (let y = year; y >= Math.max(MIN_YEAR, year - 4); y -= 1) years.push(y);
  return years;
}

function fact(label, value, testid = null, className = null) {
  return h('div', { class: className }, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

/** A certificate of income (`getMyTaxCertificate` / `getTaxCertificate`) as a page part. */
export function certificateView(cert) {
  const notWithheld = !isZero(cert.not_withheld);
  const money = (value) => points(value);
  const months = cert.months ?? [];
  return h(
    'div',
    { class: 'certificate', 'data-testid': 'certificate', 'data-year': cert.year },
    h('h3', { class: 'certificate-title' }, t('tax.cert.heading', { year: cert.year })),
    h(
      'dl',
      { class: 'facts' },
      fact(t('tax.cert.name'), cert.name),
      fact(t('tax.cert.phone'), cert.phone ?? t('common.none')),
      fact(t('tax.cert.inn'), cert.tax_id ?? t('tax.cert.innNone'), 'certificate-inn'),
      fact(t('tax.cert.number'), String(cert.participant_id)),
    ),
    months.length
      ? h(
          'div',
          { class: 'table-wrap table-keep' },
          h(
            'table',
            { class: 'certificate-months' },
            h('caption', { class: 'visually-hidden' }, t('tax.cert.byMonth')),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col' }, t('tax.cert.month')),
                h('th', { scope: 'col', class: 'num' }, t('tax.cert.income')),
                h('th', { scope: 'col', class: 'num' }, t('tax.cert.tax')),
                h('th', { scope: 'col', class: 'num' }, t('tax.cert.paid')),
              ),
            ),
            h(
              'tbody',
              null,
              months.map((m) =>
                h(
                  'tr',
                  { 'data-month': m.month },
                  h('td', null, monthName(m.month)),
                  h('td', { class: 'num' }, money(m.income)),
                  h('td', { class: 'num' }, money(m.tax)),
                  h('td', { class: 'num' }, money(m.paid)),
                ),
              ),
            ),
            h(
              'tfoot',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'row' }, t('tax.cert.total')),
                h('td', { class: 'num' }, money(cert.income)),
                h('td', { class: 'num' }, money(cert.tax)),
                h('td', { class: 'num' }, money(cert.paid)),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted', 'data-testid': 'certificate-empty' }, t('tax.cert.none', { year: cert.year })),
    h(
      'dl',
      { class: 'facts certificate-totals' },
      fact(t('tax.cert.income'), money(cert.income), 'certificate-income'),
      fact(t('tax.cert.tax'), money(cert.tax), 'certificate-tax'),
      fact(t('tax.cert.paid'), money(cert.paid), 'certificate-paid'),
      fact(t('tax.cert.notWithheld'), money(cert.not_withheld), 'certificate-not-withheld', notWithheld ? 'bad' : null),
    ),
    notWithheld
      ? h('p', { class: 'notice' }, t('tax.cert.notWithheldNote', { amount: money(cert.not_withheld) }))
      : null,
  );
}

/**
 * Prints `section` alone: the page marks it and hides everything else in print (see
 * the print rules of style.css) until the print dialog closes.
 */
export function printAlone(section) {
  document.body.classList.add('printing-one');
  section.classList.add('print-target');
  const done = () => {
    document.body.classList.remove('printing-one');
    section.classList.remove('print-target');
  };
  window.addEventListener('afterprint', done, { once: true });
  window.print();
}

/**
 * A card with a year picker (this year first), the certificate of that year read from
 * `path` (`/me/tax-certificate`, `/participants/{id}/tax-certificate`), loading and
 * error states, and a print button. `onLoad(cert)` hears each certificate shown.
 * Returns { el, reload, abort }.
 */
export function certificateCard({ path, title = t('tax.cert.title'), intro = null, onLoad = null }) {
  const yearId = uid('year');
  const year = h(
    'select',
    { id: yearId, name: 'year', 'data-testid': 'certificate-year' },
    yearOptions().map((y) => h('option', { value: String(y) }, String(y))),
  );
  const body = h('div', { class: 'certificate-body', 'aria-live': 'polite' });
  const print = h(
    'button',
    { type: 'button', class: 'secondary', 'data-action': 'print-certificate', disabled: true },
    t('tax.cert.print'),
  );
  const el = h(
    'section',
    { class: 'card certificate-card', 'data-testid': 'certificate-card' },
    h('div', { class: 'card-head no-print' }, h('h2', null, title), print),
    intro ? h('p', { class: 'muted no-print' }, intro) : null,
    h('div', { class: 'field certificate-year no-print' }, h('label', { for: yearId }, t('tax.cert.year')), year),
    body,
  );
  let controller = null;

  async function reload() {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    print.disabled = true;
    replace(body, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const cert = await api(path, { query: { year: year.value }, signal: mine.signal });
      if (mine.signal.aborted) return;
      replace(body, certificateView(cert));
      print.disabled = false;
      onLoad?.(cert);
    } catch (error) {
      if (mine.signal.aborted || error?.name === 'AbortError') return;
      replace(
        body,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: reload }, t('common.retry')),
      );
    }
  }

  year.addEventListener('change', reload);
  print.addEventListener('click', () => printAlone(el));
  return { el, reload, abort: () => controller?.abort() };
}
