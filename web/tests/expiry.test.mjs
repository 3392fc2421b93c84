// Unit tests of the expiry pieces the pages share (components/expiry.js), in English,
// run with `node --test`: the rule in words, the rule form's checks (the server's
// limits: days 1–3660, then 0–10, warning days 0–90), the form's values for a stored
// rule, and the seller's "expiring" line. The Russian texts are in expiry-ru.test.mjs
// (a module reads its language once, so each language is a process of its own). The
// modules read the browser's language, so the few globals they touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const { describeRule, describeWarning, checkRuleForm, ruleValues, sameRule, ruleField, expiringText } =
  await import('../app/components/expiry.js');

const form = (values) => ({ kind: 'never', days: '', period: 'month', then: '0', warn_days: '7', ...values });

test('a rule reads in words', () => {
  assert.equal(describeRule({ kind: 'never' }), 'Points never expire.');
  assert.equal(
    describeRule({ kind: 'after_days', days: 90 }),
    'Points expire 90 days after the day they are credited.',
  );
  assert.equal(describeRule({ kind: 'after_days', days: 1 }), 'Points expire 1 day after the day they are credited.');
  assert.equal(
    describeRule({ kind: 'end_of_period', period: 'quarter', then: 0 }),
    'Points expire at the end of the quarter they are credited in.',
  );
  assert.equal(
    describeRule({ kind: 'end_of_period', period: 'month', then: 1 }),
    'Points expire 1 month after the end of the month they are credited in.',
  );
  assert.equal(
    describeRule({ kind: 'end_of_period', period: 'year', then: 2 }),
    'Points expire 2 years after the end of the year they are credited in.',
  );
  // A kind this page does not know yet is shown as the server names it.
  assert.equal(describeRule({ kind: 'after_sales' }), 'after_sales');
  assert.equal(describeWarning(7), 'Sellers are warned 7 days before their points expire.');
  assert.equal(describeWarning(1), 'Sellers are warned 1 day before their points expire.');
  assert.equal(describeWarning(0), 'Sellers are not warned before their points expire.');
});

test('the rule form becomes the rule the API takes', () => {
  assert.deepEqual(checkRuleForm(form({ kind: 'never' })), { rule: { kind: 'never' }, warn_days: 7, errors: [] });
  assert.deepEqual(checkRuleForm(form({ kind: 'after_days', days: '90' })), {
    rule: { kind: 'after_days', days: 90 },
    warn_days: 7,
    errors: [],
  });
  assert.deepEqual(checkRuleForm(form({ kind: 'end_of_period', period: 'year', then: '1', warn_days: '0' })), {
    rule: { kind: 'end_of_period', period: 'year', then: 1 },
    warn_days: 0,
    errors: [],
  });
  // Fields of another kind are not looked at.
  assert.deepEqual(checkRuleForm(form({ kind: 'never', days: 'x', then: '99' })).errors, []);
});

test('the rule form keeps to the server’s limits', () => {
  const fields = (values) => checkRuleForm(form(values)).errors.map((e) => e.field);
  assert.deepEqual(fields({ kind: 'after_days', days: '1' }), []);
  assert.deepEqual(fields({ kind: 'after_days', days: '3660' }), []);
  for (const days of ['0', '3661', '', '1.5', '-3', 'ninety', '1e3'])
    assert.deepEqual(fields({ kind: 'after_days', days }), ['days'], `days ${days}`);
  assert.deepEqual(fields({ kind: 'end_of_period', then: '0' }), []);
  assert.deepEqual(fields({ kind: 'end_of_period', then: '10' }), []);
  for (const then of ['11', '', '-1', '0.5'])
    assert.deepEqual(fields({ kind: 'end_of_period', then }), ['then'], `then ${then}`);
  assert.deepEqual(fields({ kind: 'end_of_period', period: 'week' }), ['period']);
  assert.deepEqual(fields({ warn_days: '90' }), []);
  for (const warn of ['91', '', '-1', '7.5'])
    assert.deepEqual(fields({ warn_days: warn }), ['warn_days'], `warn_days ${warn}`);
  assert.deepEqual(fields({ kind: 'sometimes' }), ['kind']);
  // Every wrong field at once, and no rule to send.
  const both = checkRuleForm(form({ kind: 'after_days', days: '0', warn_days: '100' }));
  assert.deepEqual(
    both.errors.map((e) => e.field),
    ['days', 'warn_days'],
  );
  assert.equal(both.rule, null);
  assert.equal(both.errors[0].message, 'A whole number of days from 1 to 3660');
});

test('a stored rule fills the form, and an unchanged rule is recognised', () => {
  assert.deepEqual(ruleValues({ kind: 'after_days', days: 90 }, 7), {
    kind: 'after_days',
    days: '90',
    period: 'month',
    then: '0',
    warn_days: '7',
  });
  assert.deepEqual(ruleValues({ kind: 'end_of_period', period: 'quarter', then: 1 }, 0), {
    kind: 'end_of_period',
    days: '',
    period: 'quarter',
    then: '1',
    warn_days: '0',
  });
  assert.equal(ruleValues({ kind: 'after_sales' }, 3).kind, 'never');
  assert.ok(sameRule({ kind: 'after_days', days: 90 }, { kind: 'after_days', days: 90 }));
  assert.ok(!sameRule({ kind: 'after_days', days: 90 }, { kind: 'after_days', days: 91 }));
  assert.ok(
    sameRule({ kind: 'end_of_period', period: 'year', then: 0 }, { then: 0, period: 'year', kind: 'end_of_period' }),
  );
  assert.ok(
    !sameRule({ kind: 'end_of_period', period: 'year', then: 0 }, { kind: 'end_of_period', period: 'month', then: 0 }),
  );
  assert.ok(!sameRule({ kind: 'never' }, { kind: 'after_days', days: 1 }));
  assert.equal(ruleField('after_days'), 'days');
  assert.equal(ruleField('end_of_period'), 'then');
  assert.equal(ruleField('never'), 'kind');
});

test('the seller’s expiring line names the points and the day', () => {
  const today = new Date(2026, 5, 1);
  assert.equal(expiringText({ amount: '50.00', on: '2026-12-14' }, { today }), '50.00 points expire on 14 December');
  assert.equal(expiringText({ amount: '1.00', on: '2027-01-10' }, { today }), '1.00 point expires on 10 January 2027');
  assert.equal(
    expiringText({ amount: '1250.50', on: '2026-07-01' }, { today }),
    '1\u202f250.50 points expire on 1 July',
  );
});
