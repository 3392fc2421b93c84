// The Russian texts of the tax pieces (components/tax.js), run with `node --test`: the
// rule in words with Russian numbers (4 000,00; 13,5 %), why an INN is refused, the
// rule form's messages and the certificate's months ("Январь"). A process of its own:
// modules read their language once.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { locale } = await import('../app/i18n.js');
const { checkTaxId, checkTaxForm, describeTaxRule, percent, monthName, PRESETS } = await import(
  '../app/components/tax.js'
);

const G = '\u202f';
const NB = '\u00a0';

test('the page is Russian', () => {
  assert.equal(locale, 'ru');
});

test('the rule reads in Russian', () => {
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: false }),
    'Налог выключен: доход не учитывается, ничего не удерживается.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: true }),
    `35${NB}% годового дохода каждого участника сверх 4${G}000,00 удерживается из его баллов, когда он тратит их на награду или выплату. ` +
      'Налог, который не покрывают баллы участника, отражается как неудержанный.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.income, enabled: true }),
    `Годовой доход каждого участника облагается так: 13${NB}% до 2${G}400${G}000,00, 15${NB}% свыше 2${G}400${G}000,00. ` +
      'Налог удерживается из его баллов при их начислении. ' +
      'Налог, который не покрывают баллы участника, отражается как неудержанный.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: true, bearer: 'organiser' }),
    `35${NB}% годового дохода каждого участника сверх 4${G}000,00 платит за него организатор дополнительно к награде, когда участник тратит баллы, так что награда достаётся ему целиком. ` +
      'Налог, уплаченный за участника, — тоже его доход, поэтому он пересчитывается с учётом налога.',
  );
  assert.equal(percent('13.5'), `13,5${NB}%`);
});

test('a wrong INN says why in Russian', () => {
  assert.equal(checkTaxId('7707083893').error, 'Это ИНН организации (10 цифр); у физического лица их 12');
  assert.equal(checkTaxId('500100732258').error, 'ИНН не сходится по контрольным цифрам: проверьте его');
  assert.equal(checkTaxId('1234').error, 'ИНН физического лица состоит из 12 цифр');
  assert.equal(checkTaxId('500100732259').error, null);
});

test('the rule form’s messages and the months are Russian', () => {
  const { errors } = checkTaxForm({
    enabled: true,
    moment: 'redemption',
    bearer: 'participant',
    exemption: '4000,50',
    scale: [
      { above: '0', rate: '13,5' },
      { above: '0', rate: '100' },
    ],
  });
  assert.deepEqual(
    errors.map((e) => e.message),
    [
      'Должно быть больше, чем у предыдущей ступени (0,00)',
      'Процент от 0 до 99, не больше четырёх знаков после запятой',
    ],
  );
  assert.equal(monthName(1), 'Январь');
  assert.equal(monthName(5), 'Май');
});
