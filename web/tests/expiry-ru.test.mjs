// The Russian texts of points expiry (components/expiry.js, history lines), run with
// `node --test`: the rule in words and the seller's "сгорят" line with the right
// plural forms (1 балл сгорит, 2 балла сгорят, 5 баллов сгорят) and dates in the
// genitive ("14 декабря"). A process of its own: modules read their language once.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { t, tn, locale } = await import('../app/i18n.js');
const { describeRule, describeWarning, checkRuleForm, expiringText } = await import('../app/components/expiry.js');
const { day } = await import('../app/format.js');

const today = new Date(2026, 5, 1);
const line = (amount, on = '2026-12-14') => expiringText({ amount, on }, { today });

test('the page is Russian', () => {
  assert.equal(locale, 'ru');
});

test('points expire with the Russian plural forms', () => {
  assert.equal(line('50.00'), '50,00 баллов сгорят 14 декабря');
  assert.equal(line('1.00'), '1,00 балл сгорит 14 декабря');
  assert.equal(line('21'), '21,00 балл сгорит 14 декабря');
  assert.equal(line('2.00'), '2,00 балла сгорят 14 декабря');
  assert.equal(line('11.00'), '11,00 баллов сгорят 14 декабря');
  assert.equal(line('1.50'), '1,50 балла сгорят 14 декабря');
  assert.equal(line('5.00', '2027-03-01'), '5,00 баллов сгорят 1 марта 2027 г.');
  assert.equal(
    tn('expiry.warning', '3.00', { n: '3,00', date: day('2026-12-14', { today }) }),
    'Внимание: 3,00 балла сгорят 14 декабря.',
  );
  assert.equal(
    t('expiry.spendBy', { date: day('2026-12-14', { plusDays: -1, today }) }),
    'Потратьте их до конца дня 13 декабря.',
  );
});

test('the rule reads in Russian', () => {
  assert.equal(describeRule({ kind: 'never' }), 'Баллы не сгорают.');
  assert.equal(describeRule({ kind: 'after_days', days: 90 }), 'Баллы сгорают через 90 дней после дня начисления.');
  assert.equal(describeRule({ kind: 'after_days', days: 1 }), 'Баллы сгорают через 1 день после дня начисления.');
  assert.equal(describeRule({ kind: 'after_days', days: 3 }), 'Баллы сгорают через 3 дня после дня начисления.');
  assert.equal(
    describeRule({ kind: 'end_of_period', period: 'month', then: 0 }),
    'Баллы сгорают в конце месяца начисления.',
  );
  assert.equal(
    describeRule({ kind: 'end_of_period', period: 'quarter', then: 2 }),
    'Баллы сгорают через 2 квартала после конца квартала начисления.',
  );
  assert.equal(
    describeRule({ kind: 'end_of_period', period: 'year', then: 5 }),
    'Баллы сгорают через 5 лет после конца года начисления.',
  );
  assert.equal(describeWarning(7), 'Продавцов предупреждают за 7 дней до сгорания баллов.');
  assert.equal(describeWarning(1), 'Продавцов предупреждают за 1 день до сгорания баллов.');
  assert.equal(
    checkRuleForm({ kind: 'after_days', days: '0', warn_days: '7' }).errors[0].message,
    'Целое число дней от 1 до 3660',
  );
});

test('a history line names the credits it took from', () => {
  assert.equal(t('reason.expiry'), 'Сгорание баллов');
  assert.equal(
    t('history.lot', { date: '3 сент. 2026 г.', amount: '20,00' }),
    'из баллов, начисленных 3 сент. 2026 г.: 20,00',
  );
  assert.equal(tn('history.lots', 5), 'из 5 начислений');
  assert.equal(tn('history.lots', 1), 'из 1 начисления');
  assert.equal(tn('history.lots', 22), 'из 22 начислений');
});
