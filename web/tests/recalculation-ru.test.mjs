// The Russian texts of retroactive recalculation (components/recalculation.js) and of
// the debt on the standing (components/standing.js), run with `node --test`: the rule
// in words with the right plural forms (1 балл, 2 балла, 5 баллов за единицу), the
// multiplier with a decimal comma, the period with dates in the genitive ("1 ноября –
// 30 ноября"), the form's messages, and "Вы должны 5,00 баллов". A process of its own:
// modules read their language once.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { t, tn, locale } = await import('../app/i18n.js');
const { describeRecalcRule, currentValueText, periodText, checkRecalcForm } =
  await import('../app/components/recalculation.js');
const { debtText } = await import('../app/components/standing.js');

const names = {
  campaigns: [{ id: 1, name: 'Зимняя AquaLine', products: [{ product_id: 2, name: 'Сифон AquaLine' }] }],
  levels: [{ name: 'Бронза', multiplier: '1' }],
  tasks: [{ id: 3, title: 'Фото полки', points: '30.00' }],
};
const perUnit = (n) =>
  describeRecalcRule({ kind: 'campaign_product', campaign_id: 1, product_id: 2, points_per_unit: n }, names);

test('the page is Russian', () => {
  assert.equal(locale, 'ru');
  assert.equal(t('nav.recalculations'), 'Перерасчёт');
  assert.equal(t('reason.recalculation'), 'Перерасчёт');
});

test('the rule reads in Russian with its plural forms', () => {
  assert.equal(perUnit('1.00'), 'Зимняя AquaLine: Сифон AquaLine — 1,00 балл за единицу');
  assert.equal(perUnit('21'), 'Зимняя AquaLine: Сифон AquaLine — 21,00 балл за единицу');
  assert.equal(perUnit('3.00'), 'Зимняя AquaLine: Сифон AquaLine — 3,00 балла за единицу');
  assert.equal(perUnit('5.00'), 'Зимняя AquaLine: Сифон AquaLine — 5,00 баллов за единицу');
  assert.equal(perUnit('11.00'), 'Зимняя AquaLine: Сифон AquaLine — 11,00 баллов за единицу');
  assert.equal(perUnit('2.50'), 'Зимняя AquaLine: Сифон AquaLine — 2,50 балла за единицу');
  assert.equal(
    describeRecalcRule({ kind: 'level_multiplier', level: 0, multiplier: '1.5' }, names),
    'Начисления на уровне «Бронза» — с множителем 1,5',
  );
  assert.equal(
    describeRecalcRule({ kind: 'task_points', task_id: 3, points: '50.00' }, names),
    'Задание «Фото полки» — 50,00 баллов',
  );
  assert.equal(
    describeRecalcRule({ kind: 'task_points', task_id: 3, points: '2.00' }, names),
    'Задание «Фото полки» — 2,00 балла',
  );
  assert.equal(currentValueText('task_points', names.tasks[0]), 'Сейчас: 30,00 баллов за выполнение');
  assert.equal(currentValueText('level_multiplier', { multiplier: '1.25' }), 'Сейчас: ×1,25');
});

test('the period and the form’s messages read in Russian', () => {
  const today = new Date(2026, 5, 1);
  assert.equal(periodText('2026-11-01', '2026-11-30', { today }), '1 ноября – 30 ноября');
  const { errors } = checkRecalcForm(
    { kind: 'level_multiplier', level: '0', multiplier: '0', from: '2026-11-30', to: '2026-11-01', comment: '' },
    { today: '2026-12-02' },
  );
  assert.deepEqual(
    errors.map((e) => e.message),
    [
      'Множитель больше 0 и не больше 100, не больше четырёх знаков после запятой, например 1,5',
      'Период кончается раньше, чем начинается',
      'Укажите причину: она видна в каждой компенсирующей операции',
    ],
  );
});

test('a debt takes the Russian plural forms', () => {
  assert.equal(debtText('1.00'), 'Вы должны 1,00 балл: ваши следующие баллы сначала пойдут в погашение долга.');
  assert.equal(debtText('2.00'), 'Вы должны 2,00 балла: ваши следующие баллы сначала пойдут в погашение долга.');
  assert.equal(debtText('5.00'), 'Вы должны 5,00 баллов: ваши следующие баллы сначала пойдут в погашение долга.');
  assert.equal(debtText('0.50'), 'Вы должны 0,50 балла: ваши следующие баллы сначала пойдут в погашение долга.');
  assert.equal(
    debtText('1500.00', { own: false }),
    'Долг — 1\u202f500,00 баллов: следующие баллы участника сначала пойдут в его погашение.',
  );
  assert.equal(tn('recalc.pendingNote', 1, { n: '1' }).startsWith('1 начисление периода ещё ждёт'), true);
  assert.equal(tn('recalc.pendingNote', 3, { n: '3' }).startsWith('3 начисления периода ещё ждут'), true);
  assert.equal(tn('recalc.pendingNote', 7, { n: '7' }).startsWith('7 начислений периода ещё ждут'), true);
  assert.equal(tn('recalc.failedNote', 2, { n: '2' }).startsWith('Учёт отклонил 2 компенсации'), true);
  assert.equal(
    tn('recalc.debtorsNote', 5, { n: '5' }),
    '5 участников останутся должны: потеря больше, чем у них есть.',
  );
});
