// Unit tests of the recalculation pieces (components/recalculation.js) and the debt
// line of the standing (components/standing.js), in English, run with `node --test`:
// the rule in words, the period in words, today in the program's time zone, the
// default period (the previous calendar month), the wizard form's checks and the body
// it builds, which field a server error on `rule` belongs under, and "You owe 5.00
// points". The Russian texts are in recalculation-ru.test.mjs (a module reads its
// language once, so each language is a process of its own). The modules read the
// browser's language, so the few globals they touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  todayIn,
  defaultPeriod,
  monthStart,
  periodText,
  describeRecalcRule,
  currentValueText,
  parseMultiplier,
  checkRecalcForm,
  recalcValues,
  ruleErrorField,
  levelName,
} = await import('../app/components/recalculation.js');
const { debtText, hasDebt } = await import('../app/components/standing.js');

const names = {
  campaigns: [
    {
      id: 1,
      name: 'AquaLine winter',
      products: [{ product_id: 2, sku: 'AQ-SIF-6', name: 'AquaLine siphon', points_per_unit: '2.50' }],
    },
  ],
  levels: [
    { name: 'Bronze', multiplier: '1' },
    { name: 'Silver', multiplier: '1.1' },
  ],
  tasks: [{ id: 3, title: 'Photograph the shelf', points: '30.00' }],
};

test('a rule reads in words', () => {
  assert.equal(
    describeRecalcRule({ kind: 'campaign_product', campaign_id: 1, product_id: 2, points_per_unit: '3.00' }, names),
    'AquaLine winter: AquaLine siphon pays 3.00 points per unit',
  );
  assert.equal(
    describeRecalcRule({ kind: 'campaign_product', campaign_id: 1, product_id: 2, points_per_unit: '1.00' }, names),
    'AquaLine winter: AquaLine siphon pays 1.00 point per unit',
  );
  assert.equal(
    describeRecalcRule({ kind: 'level_multiplier', level: 0, multiplier: '1.5' }, names),
    'Earnings at level Bronze are multiplied by 1.5',
  );
  assert.equal(
    describeRecalcRule({ kind: 'task_points', task_id: 3, points: '50.00' }, names),
    'Task “Photograph the shelf” pays 50.00 points',
  );
  // Names that are not known (yet, or any more) are ids; a level beyond the scale is numbered.
  assert.equal(
    describeRecalcRule({ kind: 'campaign_product', campaign_id: 9, product_id: 8, points_per_unit: '1250' }),
    '#9: #8 pays 1\u202f250.00 points per unit',
  );
  assert.equal(
    describeRecalcRule({ kind: 'level_multiplier', level: 4, multiplier: '2' }, names),
    'Earnings at level Level 5 are multiplied by 2',
  );
  assert.equal(describeRecalcRule({ kind: 'task_points', task_id: 7, points: '0.00' }), 'Task “#7” pays 0.00 points');
  assert.equal(describeRecalcRule({ kind: 'store_bonus' }), 'store_bonus');
  assert.equal(levelName(names.levels, 1), 'Silver');
});

test('what a target pays now', () => {
  assert.equal(currentValueText('campaign_product', names.campaigns[0].products[0]), 'Now: 2.50 points per unit');
  assert.equal(currentValueText('level_multiplier', names.levels[1]), 'Now: ×1.1');
  assert.equal(currentValueText('task_points', { points: '1.00' }), 'Now: 1.00 point per completion');
  assert.equal(currentValueText('task_points', undefined), '');
});

test('today in the program’s time zone, and the default period', () => {
  // 22:30 UTC on 31 December is already 1 January in Moscow.
  const now = new Date(Date.UTC(2026, 11, 31, 22, 30));
  assert.equal(todayIn('Europe/Moscow', now), '2027-01-01');
  assert.equal(todayIn('UTC', now), '2026-12-31');
  assert.equal(todayIn('America/New_York', now), '2026-12-31');
  assert.match(todayIn('Not/AZone', now), /^\d{4}-\d{2}-\d{2}$/);

  assert.deepEqual(defaultPeriod('2026-12-02'), { from: '2026-11-01', to: '2026-11-30' });
  assert.deepEqual(defaultPeriod('2027-01-01'), { from: '2026-12-01', to: '2026-12-31' });
  assert.deepEqual(defaultPeriod('2028-03-31'), { from: '2028-02-01', to: '2028-02-29' });
  assert.deepEqual(defaultPeriod('2027-03-15'), { from: '2027-02-01', to: '2027-02-28' });
  assert.equal(monthStart('2026-12-17'), '2026-12-01');

  const today = new Date(2026, 5, 1);
  assert.equal(periodText('2026-11-01', '2026-11-30', { today }), '1 November – 30 November');
  assert.equal(periodText('2025-12-01', '2026-01-31', { today }), '1 December 2025 – 31 January');
  assert.equal(periodText('2026-11-05', '2026-11-05', { today }), '5 November');
});

const values = (more) => ({
  kind: 'level_multiplier',
  campaign_id: '',
  product_id: '',
  points_per_unit: '',
  level: '0',
  multiplier: '1.5',
  task_id: '',
  points: '',
  from: '2026-11-01',
  to: '2026-11-30',
  comment: '  The level was meant to pay half as much again  ',
  ...more,
});
const today = '2026-12-02';

test('the form becomes the body the API takes', () => {
  assert.deepEqual(checkRecalcForm(values(), { today }), {
    body: {
      rule: { kind: 'level_multiplier', level: 0, multiplier: '1.5' },
      from: '2026-11-01',
      to: '2026-11-30',
      comment: 'The level was meant to pay half as much again',
    },
    errors: [],
  });
  assert.deepEqual(
    checkRecalcForm(
      values({ kind: 'campaign_product', campaign_id: '1', product_id: '2', points_per_unit: '3', multiplier: 'x' }),
      { today },
    ).body.rule,
    { kind: 'campaign_product', campaign_id: 1, product_id: 2, points_per_unit: '3.00' },
  );
  assert.deepEqual(
    checkRecalcForm(values({ kind: 'task_points', task_id: '3', points: '1 250,5' }), { today }).body.rule,
    { kind: 'task_points', task_id: 3, points: '1250.50' },
  );
  // Zero is a price too: the campaign should not have paid for the product at all.
  assert.deepEqual(
    checkRecalcForm(values({ kind: 'task_points', task_id: '3', points: '0' }), { today }).body.rule.points,
    '0.00',
  );
  // Today is the last day a period may end on; one day is a period.
  assert.deepEqual(checkRecalcForm(values({ from: today, to: today }), { today }).errors, []);
  // 366 days at most: 1 January to 31 December of a leap year is 366 days.
  assert.deepEqual(checkRecalcForm(values({ from: '2024-01-01', to: '2024-12-31' }), { today }).errors, []);
});

test('the form keeps to the server’s checks', () => {
  const fields = (more) => checkRecalcForm(values(more), { today }).errors.map((e) => e.field);
  assert.deepEqual(fields({ kind: '' }), ['kind']);
  assert.deepEqual(fields({ kind: 'campaign_product' }), ['campaign_id', 'product_id', 'points_per_unit']);
  assert.deepEqual(fields({ kind: 'task_points', task_id: '3', points: '-1' }), ['points']);
  assert.deepEqual(fields({ kind: 'task_points', task_id: '3', points: '1.234' }), ['points']);
  assert.deepEqual(fields({ kind: 'task_points', points: '5' }), ['task_id']);
  assert.deepEqual(fields({ level: '' }), ['level']);
  for (const multiplier of ['0', '0.0', '-1', '100.01', '101', '1.23456', 'x', ''])
    assert.deepEqual(fields({ multiplier }), ['multiplier'], `multiplier ${multiplier}`);
  for (const multiplier of ['0.0001', '1', '1,25', '100', '100.000'])
    assert.deepEqual(fields({ multiplier }), [], `multiplier ${multiplier}`);
  assert.deepEqual(fields({ from: '', to: '2026-11-31' }), ['from', 'to']);
  assert.deepEqual(fields({ from: '2026-11-30', to: '2026-11-01' }), ['to']);
  assert.deepEqual(fields({ to: '2026-12-03' }), ['to']);
  assert.deepEqual(fields({ from: '2024-01-01', to: '2025-01-01' }), ['to']);
  assert.deepEqual(fields({ comment: '   ' }), ['comment']);
  assert.deepEqual(fields({ comment: 'x'.repeat(501) }), ['comment']);
  assert.deepEqual(fields({ comment: 'я'.repeat(500) }), []);
  const wrong = checkRecalcForm(values({ multiplier: '0', to: '2026-12-09' }), { today });
  assert.equal(wrong.body, null);
  assert.equal(wrong.errors[0].message, 'A multiplier above 0 and at most 100 with at most four decimals, such as 1.5');
  // The date names its year unless it is this year's.
  assert.match(wrong.errors[1].message, /^A recalculation covers past days only: 2 December( 2026)? at the latest$/);
  assert.equal(parseMultiplier('1.50'), '1.5');
  assert.equal(parseMultiplier('007'), '7');
});

test('a stored rule fills the form; a server error finds its field', () => {
  const body = {
    rule: { kind: 'task_points', task_id: 3, points: '50.00' },
    from: '2026-11-01',
    to: '2026-11-30',
    comment: 'why',
  };
  const filled = recalcValues(body);
  assert.equal(filled.kind, 'task_points');
  assert.equal(filled.task_id, '3');
  assert.deepEqual(checkRecalcForm(filled, { today }).body, body);
  assert.equal(recalcValues().kind, 'campaign_product');

  assert.equal(
    ruleErrorField('campaign_product', 'no such campaign paying for that product in this program'),
    'product_id',
  );
  assert.equal(ruleErrorField('campaign_product', 'points must not be negative'), 'points_per_unit');
  assert.equal(ruleErrorField('level_multiplier', 'no such level in this program'), 'level');
  assert.equal(ruleErrorField('level_multiplier', 'the multiplier must be above 0 and at most 100'), 'multiplier');
  assert.equal(ruleErrorField('task_points', 'no such task in this program'), 'task_id');
  assert.equal(ruleErrorField('task_points', 'the new amounts overflow'), 'points');
  assert.equal(ruleErrorField('', 'not a recalculation rule'), 'kind');
});

test('a debt reads as what is owed and what pays it off', () => {
  assert.equal(debtText('5.00'), 'You owe 5.00 points: your next points pay it off first.');
  assert.equal(debtText('1.00'), 'You owe 1.00 point: your next points pay it off first.');
  assert.equal(debtText('1250.50'), 'You owe 1\u202f250.50 points: your next points pay it off first.');
  assert.equal(debtText('5.00', { own: false }), 'Owes 5.00 points: their next points pay it off first.');
  assert.equal(debtText('0.00'), null);
  assert.equal(debtText(undefined), null);
  assert.equal(debtText('-3.00'), null);
  assert.ok(hasDebt('0.01'));
  assert.ok(!hasDebt('0'));
  assert.ok(!hasDebt('garbage'));
});
