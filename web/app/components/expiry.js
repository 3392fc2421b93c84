// Points expiry, shared by the seller's page and the staff page: the program's rule in
// words, the checks of the rule form (the server's own limits, so a typo is caught
// before it is sent), and the seller's "expiring points" card with the list of every
// coming expiry (`listMyExpiring`). Expiry dates are the program's local dates
// (`on`): the points are gone at the start of that day.

import { h, replace, uid } from '../dom.js';
import { t, tn } from '../i18n.js';
import { api } from '../api.js';
import { points, count, day } from '../format.js';
import { table } from './table.js';
import { problemBox } from './problem.js';

/** The server's limits (`ExpiryRule::check`, `MAX_WARN_DAYS`). */
export const MAX_DAYS = 3660;
export const MAX_PERIODS = 10;
export const MAX_WARN_DAYS = 90;
export const KINDS = ['never', 'after_days', 'end_of_period'];
export const PERIODS = ['month', 'quarter', 'year'];

// Literal keys per period, so the dictionary test sees every one of them.
const PERIOD_END = {
  month: () => t('expiry.rule.endOfMonth'),
  quarter: () => t('expiry.rule.endOfQuarter'),
  year: () => t('expiry.rule.endOfYear'),
};
const PERIODS_AFTER = {
  month: (n) => tn('expiry.rule.monthsAfter', n, { n: count(n) }),
  quarter: (n) => tn('expiry.rule.quartersAfter', n, { n: count(n) }),
  year: (n) => tn('expiry.rule.yearsAfter', n, { n: count(n) }),
};

/** A rule (`{kind, …}` as the API sends it) in words; an unknown one as its kind. */
export function describeRule(rule) {
  switch (rule?.kind) {
    case 'never':
      return t('expiry.rule.never');
    case 'after_days':
      return tn('expiry.rule.afterDays', rule.days, { n: count(rule.days) });
    case 'end_of_period': {
      if (!PERIOD_END[rule.period]) return `${rule.kind} ${rule.period}`;
      return rule.then > 0 ? PERIODS_AFTER[rule.period](rule.then) : PERIOD_END[rule.period]();
    }
    default:
      return String(rule?.kind ?? '');
  }
}

/** The warning days in words. */
export function describeWarning(days) {
  return days > 0 ? tn('expiry.warn.days', days, { n: count(days) }) : t('expiry.warn.none');
}

/** A whole number from `min` to `max` as typed, or null. */
function whole(text, min, max) {
  const value = String(text ?? '').trim();
  if (!/^\d{1,7}$/.test(value)) return null;
  const n = Number(value);
  return n >= min && n <= max ? n : null;
}

/**
 * Checks the rule form's values as typed (`kind`, `days`, `period`, `then`,
 * `warn_days`, strings) against the server's limits. Returns `{ rule, warn_days,
 * errors }`: the rule as the API takes it (null when a field is wrong) and the field
 * errors in the form's own field names.
 */
export function checkRuleForm(values) {
  const errors = [];
  let rule = null;
  if (values.kind === 'never') {
    rule = { kind: 'never' };
  } else if (values.kind === 'after_days') {
    const days = whole(values.days, 1, MAX_DAYS);
    if (days === null) errors.push({ field: 'days', message: t('expiry.daysRange', { max: MAX_DAYS }) });
    else rule = { kind: 'after_days', days };
  } else if (values.kind === 'end_of_period') {
    const then = whole(values.then, 0, MAX_PERIODS);
    if (!PERIODS.includes(values.period)) errors.push({ field: 'period', message: t('expiry.periodPick') });
    if (then === null) errors.push({ field: 'then', message: t('expiry.thenRange', { max: MAX_PERIODS }) });
    if (!errors.length) rule = { kind: 'end_of_period', period: values.period, then };
  } else {
    errors.push({ field: 'kind', message: t('expiry.kindPick') });
  }
  const warnDays = whole(values.warn_days, 0, MAX_WARN_DAYS);
  if (warnDays === null) errors.push({ field: 'warn_days', message: t('expiry.warnRange', { max: MAX_WARN_DAYS }) });
  return { rule: errors.length ? null : rule, warn_days: warnDays, errors };
}

/** The form's values for a rule and its warning days (the fields a kind leaves out keep defaults). */
export function ruleValues(rule, warnDays) {
  return {
    kind: KINDS.includes(rule?.kind) ? rule.kind : 'never',
    days: rule?.kind === 'after_days' ? String(rule.days) : '',
    period: rule?.kind === 'end_of_period' ? rule.period : 'month',
    then: rule?.kind === 'end_of_period' ? String(rule.then) : '0',
    warn_days: String(warnDays ?? 0),
  };
}

/** Whether two rules are the same rule (so an unchanged rule is not sent again). */
export function sameRule(a, b) {
  if (a?.kind !== b?.kind) return false;
  if (a.kind === 'after_days') return a.days === b.days;
  if (a.kind === 'end_of_period') return a.period === b.period && a.then === b.then;
  return true;
}

/** The form field a server error on `rule` belongs under, for the kind being sent. */
export function ruleField(kind) {
  return kind === 'after_days' ? 'days' : kind === 'end_of_period' ? 'then' : 'kind';
}

/** "50.00 points expire on 14 December" with the language's plural form. */
export function expiringText(expiring, options) {
  return tn('expiry.soon', expiring.amount, { n: points(expiring.amount), date: day(expiring.on, options) });
}

/** The coming expiries as a small table (date, points). */
function comingTable(items) {
  return table({
    keep: true,
    empty: t('expiry.comingNone'),
    rowKey: (e) => e.at,
    columns: [
      { label: t('expiry.on'), render: (e) => day(e.on) },
      { label: t('expiry.amount'), numeric: true, render: (e) => points(e.amount) },
    ],
    rows: items,
  }).el;
}

/**
 * The seller's card of their next expiry (hidden when nothing will expire), with every
 * coming expiry folded under it and read when it is opened. `show(expiring)` takes the
 * next expiry as getMe and the `me` snapshot carry it; `refresh()` reads the list again
 * (after spending or a warning the soonest may have changed); `warned(expiring)` shows a
 * warning's expiry when it is the soonest. Returns { el, show, warned, refresh }.
 */
export function expiringCard() {
  const text = h('p', { class: 'expiring-text', 'data-testid': 'expiring-text' });
  const spendBy = h('p', { class: 'muted small' });
  const list = h('div', { class: 'expiring-list', 'aria-live': 'polite' });
  const more = h('details', { class: 'expiring-more' }, h('summary', null, t('expiry.allComing')), list);
  const titleId = uid('expiring');
  const el = h(
    'section',
    { class: 'card notice expiring', 'data-testid': 'expiring', 'aria-labelledby': titleId, hidden: true },
    h('h2', { id: titleId }, t('expiry.cardTitle')),
    text,
    spendBy,
    more,
  );
  let loaded = false;
  let reading = null;
  let shown = null;

  /**
   * Shows the next expiry; `coming`, when read with it, fills the folded list (false:
   * the list stays as it is, a read of it follows).
   */
  function show(expiring, coming = null) {
    shown = expiring;
    el.hidden = !expiring;
    loaded = false;
    if (!expiring) {
      more.open = false;
      replace(list);
      return;
    }
    el.dataset.on = expiring.on;
    replace(text, expiringText(expiring));
    replace(spendBy, t('expiry.spendBy', { date: day(expiring.on, { plusDays: -1 }) }));
    if (coming) {
      replace(list, comingTable(coming));
      loaded = true;
    } else if (coming === null && more.open) load();
  }

  /** Reads every coming expiry; the soonest becomes the card. */
  async function read() {
    const coming = await api('/me/expiring');
    return Array.isArray(coming) ? coming : [];
  }

  async function load() {
    if (reading) return;
    replace(list, h('p', { class: 'muted small' }, t('common.loading')));
    reading = read();
    try {
      replace(list, comingTable(await reading));
      loaded = true;
    } catch (error) {
      replace(list, problemBox(error));
    } finally {
      reading = null;
    }
  }

  async function refresh() {
    try {
      const coming = await read();
      show(coming[0] ?? null, coming);
    } catch {
      // The card keeps what it showed; the next snapshot or change tries again.
    }
  }

  /** A warning's expiry (`points_expiring`): shown at once when it is the soonest. */
  function warned(expiring) {
    if (!shown || expiring.at <= shown.at) show(expiring, false);
  }

  more.addEventListener('toggle', () => {
    if (more.open && !loaded) load();
  });
  return { el, show, warned, refresh };
}
