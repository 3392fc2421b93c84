// Formatting of points, dates and durations, and the exact decimal arithmetic the UI
// needs. Points travel as decimal strings ("1250.50"); they are never turned into
// floats, because 0.1 + 0.2 is not 0.3 and money must add up. Where arithmetic is
// unavoidable (a progress bar) it is done on BigInt hundredths.

import { locale, decimalSeparator, t } from './i18n.js';

// U+202F NARROW NO-BREAK SPACE: a thin space that never breaks a number across lines.
const GROUP = '\u202f';
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/** "12345.5" → "12 345.50" (thin-space groups); "-3" → "−3.00". Unknown input is shown as is. */
export function points(value, { signed = false } = {}) {
  if (value === null || value === undefined) return '—';
  const match = DECIMAL.exec(String(value).trim());
  if (!match) return String(value);
  const [, sign, whole, fraction = ''] = match;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, GROUP);
  const cents = (fraction + '00').slice(0, Math.max(2, fraction.length));
  const zero = /^0+$/.test(whole) && /^0*$/.test(fraction);
  let prefix = '';
  if (sign === '-' && !zero)
    prefix = '\u2212'; // a real minus sign reads better than a hyphen
  else if (signed && !zero) prefix = '+';
  return `${prefix}${grouped}${decimalSeparator}${cents}`;
}

/** Whether a decimal string is below zero (without parsing it into a float). */
export function isNegative(value) {
  const match = DECIMAL.exec(String(value ?? '').trim());
  return Boolean(match && match[1] === '-' && !isZero(value));
}

/** Whether a decimal string is zero ("0.00", "-0"); false for anything that is not an amount. */
export function isZero(value) {
  const match = DECIMAL.exec(String(value ?? '').trim());
  return Boolean(match && /^0+$/.test(match[2]) && /^0*$/.test(match[3] ?? ''));
}

/** "12.5" → 1250n. Throws on anything that is not a decimal with at most two places. */
export function toCents(value) {
  const match = DECIMAL.exec(String(value).trim());
  if (!match || (match[3] && match[3].length > 2)) throw new Error(`not an amount: ${value}`);
  const [, sign, whole, fraction = ''] = match;
  const cents = BigInt(whole) * 100n + BigInt((fraction + '00').slice(0, 2));
  return sign === '-' ? -cents : cents;
}

/**
 * Normalises what a person typed as an amount: accepts "1 250,5" and "1250.50", returns
 * "1250.50", or null when it is not an amount with at most two decimals.
 */
export function parseAmount(input, { allowNegative = false } = {}) {
  const text = String(input ?? '')
    .replace(/[\s\u202f\u2009]/g, '')
    .replace(',', '.')
    .replace('\u2212', '-');
  const match = DECIMAL.exec(text);
  if (!match || (match[3] && match[3].length > 2)) return null;
  if (match[1] === '-' && !allowNegative) return null;
  const cents = toCents(text);
  if (cents === 0n) return null;
  const abs = cents < 0n ? -cents : cents;
  return `${cents < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/** part / whole as a whole percent 0–100, computed on BigInt hundredths. */
export function percentOf(part, whole) {
  const p = typeof part === 'bigint' ? part : BigInt(part);
  const w = typeof whole === 'bigint' ? whole : BigInt(whole);
  if (w <= 0n) return 100;
  const pct = (p * 100n) / w;
  return Number(pct < 0n ? 0n : pct > 100n ? 100n : pct);
}

/** A whole number with thin-space groups. */
export function count(n) {
  return String(n ?? 0).replace(/\B(?=(\d{3})+(?!\d))/g, GROUP);
}

const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });

/** Epoch ms → local date and time. */
export function when(ms) {
  return ms ? dateTime.format(new Date(ms)) : '—';
}

/** Epoch ms → local time of day. */
export function clock(ms) {
  return ms ? timeOnly.format(new Date(ms)) : '—';
}

/** Milliseconds → "2 h 5 min", "42 s", for ages and latencies. */
export function duration(ms) {
  // Unit abbreviations take no plural form in either language ("5 min", "5 мин").
  const unit = (n, key) => `${n}\u00a0${t(`unit.${key}`)}`;
  const s = Math.max(0, Math.round((ms ?? 0) / 1000));
  if (s < 60) return unit(s, 's');
  const m = Math.floor(s / 60);
  if (m < 60) return `${unit(m, 'min')}${s % 60 ? `\u00a0${unit(s % 60, 's')}` : ''}`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${unit(hours, 'h')}${m % 60 ? `\u00a0${unit(m % 60, 'min')}` : ''}`;
  return unit(Math.floor(hours / 24), 'd');
}

// Calendar dates of the program (`YYYY-MM-DD`, already in its time zone) are formatted
// as dates, not instants, so no time zone moves them to the day before. English writes
// them day first ("14 December"), as the program's Russian does ("14 декабря").
const dayLocale = locale === 'en' ? 'en-GB' : locale;
const longDay = new Intl.DateTimeFormat(dayLocale, { day: 'numeric', month: 'long', timeZone: 'UTC' });
const longDayYear = new Intl.DateTimeFormat(dayLocale, {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const dateOnly = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });

/**
 * A calendar date `YYYY-MM-DD` → "14 December" / "14 декабря", with the year when it
 * is not this year's. `plusDays` moves it first (-1: the day before). Anything else is
 * shown as is.
 */
export function day(iso, { plusDays = 0, today = new Date() } = {}) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso ?? ''));
  if (!match) return iso ? String(iso) : '—';
  const at = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + plusDays));
  return (at.getUTCFullYear() === today.getFullYear() ? longDay : longDayYear).format(at);
}

/** Epoch ms → the local date alone ("Sep 3, 2026", "3 сент. 2026 г."). */
export function date(ms) {
  return ms ? dateOnly.format(new Date(ms)) : '—';
}

/** A local date (yyyy-mm-dd from an <input type=date>) → epoch ms at its local midnight. */
export function dayStart(isoDate, plusDays = 0) {
  if (!isoDate) return null;
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).getTime();
}
