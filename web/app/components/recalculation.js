// Retroactive recalculation, the pure pieces of the staff page (pages/admin-
// recalculations.js), kept apart so they are tested in both languages: the rule in
// words (a campaign's points per unit of a product, a level's multiplier, a task's
// points), the period in words, today in the program's time zone and the default
// period (the previous calendar month), the wizard form's checks (as the server checks
// them: a multiplier above 0 and at most 100, points 0 or more with two decimals, a
// period of at most 366 days ending today at the latest, a comment of 1–500
// characters) with the request body they build, and which form field a server error
// on `rule` belongs under.

import { t, tn, decimalSeparator } from '../i18n.js';
import { points, day } from '../format.js';
import { parseMoney } from './tax.js';

/** The kinds of rule a recalculation reprices, in the wizard's order. */
export const KINDS = ['campaign_product', 'level_multiplier', 'task_points'];
/** The server's limits (`RecalculationRule::check`, `MAX_PERIOD_DAYS`, the comment's `Text<500>`). */
export const MAX_MULTIPLIER = 100;
export const MAX_PERIOD_DAYS = 366;
export const MAX_COMMENT = 500;
/** Decimal places a typed multiplier may have. */
const MULTIPLIER_DIGITS = 4;

// ---- dates ------------------------------------------------------------------------

const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A `YYYY-MM-DD` as a UTC Date, or null when it is not a calendar date. */
function utcDate(iso) {
  const match = ISO.exec(String(iso ?? ''));
  if (!match) return null;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const at = new Date(Date.UTC(y, m - 1, d));
  return at.getUTCFullYear() === y && at.getUTCMonth() === m - 1 && at.getUTCDate() === d ? at : null;
}

/** A UTC Date as `YYYY-MM-DD`. */
function isoOf(at) {
  return at.toISOString().slice(0, 10);
}

/**
 * Today's date in a time zone (the program's: its days are the server's days), as
 * `YYYY-MM-DD`; the browser's own date when the zone is unknown.
 */
export function todayIn(timeZone, now = new Date()) {
  try {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: timeZone || undefined,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).formatToParts(now);
    const part = (type) => parts.find((p) => p.type === type)?.value;
    return `${part('year')}-${part('month')}-${part('day')}`;
  } catch {
    const pad = (n) => String(n).padStart(2, '0');
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  }
}

/** The previous calendar month of `today` (`YYYY-MM-DD`): `{ from, to }`. */
export function defaultPeriod(today) {
  const at = utcDate(today) ?? utcDate(todayIn());
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 0));
  return { from: isoOf(from), to: isoOf(to) };
}

/** The first day of the month of `today`: the current month so far is `{ from, to: today }`. */
export function monthStart(today) {
  return `${String(today).slice(0, 8)}01`;
}

/** "1 November – 30 November" (a single day once); `options` go to `day()`. */
export function periodText(from, to, options) {
  if (from === to) return day(from, options);
  return t('recalc.period', { from: day(from, options), to: day(to, options) });
}

// ---- the rule in words ------------------------------------------------------------

/** "1.5" → "1.5" / "1,5": a multiplier in the page's language. */
export function multiplierText(x) {
  return String(x ?? '').replace('.', decimalSeparator);
}

/** A level's name by index (0 is the first), or "Level 1" when the program has no such level. */
export function levelName(levels, index) {
  const level = levels?.[index];
  return level?.name || t('recalc.levelN', { n: Number(index) + 1 });
}

const byId = (list, id) => (list ?? []).find((item) => String(item.id) === String(id));

/**
 * A rule as the API sends it, in words. `names`: `{ campaigns, levels, tasks }` as the
 * API lists them (campaigns with their products, the program's levels, tasks); an id
 * that is not among them is shown as "#id".
 */
export function describeRecalcRule(rule, names = {}) {
  switch (rule?.kind) {
    case 'campaign_product': {
      const campaign = byId(names.campaigns, rule.campaign_id);
      const product = campaign?.products?.find((p) => String(p.product_id) === String(rule.product_id));
      return tn('recalc.rule.campaignProduct', rule.points_per_unit, {
        n: points(rule.points_per_unit),
        campaign: campaign?.name ?? `#${rule.campaign_id}`,
        product: product?.name ?? `#${rule.product_id}`,
      });
    }
    case 'level_multiplier':
      return t('recalc.rule.level', { level: levelName(names.levels, rule.level), x: multiplierText(rule.multiplier) });
    case 'task_points': {
      const task = byId(names.tasks, rule.task_id);
      return tn('recalc.rule.task', rule.points, {
        n: points(rule.points),
        task: task?.title ?? `#${rule.task_id}`,
      });
    }
    default:
      return String(rule?.kind ?? '');
  }
}

/**
 * What the target pays now, for the hint under the new value: a campaign's product
 * (`points_per_unit`), a level (`multiplier`), a task (`points`); '' without one.
 */
export function currentValueText(kind, target) {
  if (!target) return '';
  if (kind === 'campaign_product')
    return tn('recalc.now.perUnit', target.points_per_unit, { n: points(target.points_per_unit) });
  if (kind === 'level_multiplier') return t('recalc.now.multiplier', { x: multiplierText(target.multiplier ?? '1') });
  if (kind === 'task_points') return tn('recalc.now.taskPoints', target.points, { n: points(target.points) });
  return '';
}

// ---- the form ---------------------------------------------------------------------

/** A multiplier above 0 and at most 100 with at most four decimals ("1,50" → "1.5"), or null. */
export function parseMultiplier(input) {
  const text = String(input ?? '')
    .replace(/[\s\u202f\u2009\u00a0]/g, '')
    .replace(',', '.');
  const match = /^(\d{1,3})(?:\.(\d+))?$/.exec(text);
  if (!match || (match[2] ?? '').length > MULTIPLIER_DIGITS) return null;
  const whole = BigInt(match[1]);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (whole === 0n && !fraction) return null;
  if (whole > BigInt(MAX_MULTIPLIER) || (whole === BigInt(MAX_MULTIPLIER) && fraction)) return null;
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** A whole id as typed in a select (a positive or zero integer), or null. */
function wholeOf(value, min = 1) {
  const text = String(value ?? '').trim();
  if (!/^\d{1,15}$/.test(text)) return null;
  const n = Number(text);
  return n >= min ? n : null;
}

/**
 * Checks the wizard's values as typed (strings: `kind`, `campaign_id`, `product_id`,
 * `points_per_unit`, `level`, `multiplier`, `task_id`, `points`, `from`, `to`,
 * `comment`) as the server will, `today` being the program's date. Returns
 * `{ body, errors }`: the body of `previewRecalculation` / `applyRecalculation` (null
 * when anything is wrong) and the field errors in the form's own field names. Fields
 * of other kinds are not looked at.
 */
export function checkRecalcForm(values, { today } = {}) {
  const errors = [];
  const fail = (field, message) => errors.push({ field, message });
  let rule = null;
  if (values.kind === 'campaign_product') {
    const campaign = wholeOf(values.campaign_id);
    const product = wholeOf(values.product_id);
    const perUnit = parseMoney(values.points_per_unit);
    if (campaign === null) fail('campaign_id', t('recalc.campaignPick'));
    if (product === null) fail('product_id', t('recalc.productPick'));
    if (perUnit === null) fail('points_per_unit', t('recalc.pointsInvalid'));
    rule = { kind: 'campaign_product', campaign_id: campaign, product_id: product, points_per_unit: perUnit };
  } else if (values.kind === 'level_multiplier') {
    const level = wholeOf(values.level, 0);
    const multiplier = parseMultiplier(values.multiplier);
    if (level === null) fail('level', t('recalc.levelPick'));
    if (multiplier === null) fail('multiplier', t('recalc.multiplierInvalid', { max: MAX_MULTIPLIER }));
    rule = { kind: 'level_multiplier', level, multiplier };
  } else if (values.kind === 'task_points') {
    const task = wholeOf(values.task_id);
    const taskPoints = parseMoney(values.points);
    if (task === null) fail('task_id', t('recalc.taskPick'));
    if (taskPoints === null) fail('points', t('recalc.pointsInvalid'));
    rule = { kind: 'task_points', task_id: task, points: taskPoints };
  } else {
    fail('kind', t('recalc.kindPick'));
  }

  const from = utcDate(values.from);
  const to = utcDate(values.to);
  if (!from) fail('from', t('recalc.dateInvalid'));
  if (!to) fail('to', t('recalc.dateInvalid'));
  if (from && to) {
    if (to < from) fail('to', t('recalc.periodOrder'));
    else if (today && utcDate(today) && to > utcDate(today))
      fail('to', t('recalc.periodFuture', { today: day(today) }));
    else if ((to - from) / 86_400_000 >= MAX_PERIOD_DAYS) fail('to', t('recalc.periodLong', { max: MAX_PERIOD_DAYS }));
  }

  const comment = String(values.comment ?? '').trim();
  if (!comment) fail('comment', t('recalc.commentRequired'));
  else if ([...comment].length > MAX_COMMENT) fail('comment', t('recalc.commentLong', { max: MAX_COMMENT }));

  if (errors.length) return { body: null, errors };
  return { body: { rule, from: values.from, to: values.to, comment }, errors };
}

/** The form's values for a rule, a period and a comment (a list's row to start again from). */
export function recalcValues(body = {}) {
  const rule = body.rule ?? {};
  return {
    kind: KINDS.includes(rule.kind) ? rule.kind : KINDS[0],
    campaign_id: rule.campaign_id != null ? String(rule.campaign_id) : '',
    product_id: rule.product_id != null ? String(rule.product_id) : '',
    points_per_unit: rule.points_per_unit ?? '',
    level: rule.level != null ? String(rule.level) : '0',
    multiplier: rule.multiplier ?? '',
    task_id: rule.task_id != null ? String(rule.task_id) : '',
    points: rule.points ?? '',
    from: body.from ?? '',
    to: body.to ?? '',
    comment: body.comment ?? '',
  };
}

/**
 * The form field a server error on `rule` belongs under: a target that does not exist
 * ("no such …") under the target's select, anything else under the new value.
 */
export function ruleErrorField(kind, message = '') {
  const missing = /^no such/i.test(String(message));
  switch (kind) {
    case 'campaign_product':
      return missing ? 'product_id' : 'points_per_unit';
    case 'level_multiplier':
      return missing ? 'level' : 'multiplier';
    case 'task_points':
      return missing ? 'task_id' : 'points';
    default:
      return 'kind';
  }
}
