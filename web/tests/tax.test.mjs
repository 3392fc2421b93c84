// Unit tests of the tax pieces the pages share (components/tax.js), in English, run
// with `node --test`: a person's tax number (INN) by its check digits, the tax rule in
// plain words, the rule form's checks (the server's: the first step from 0, steps
// rising, rates 0–99 with at most four decimals, amounts 0 or more with at most two),
// the presets, the form's values for a stored rule, and the certificate's months and
// years. The Russian texts are in tax-ru.test.mjs (a module reads its language once,
// so each language is a process of its own). The modules read the browser's language,
// so the few globals they touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  innValid,
  checkTaxId,
  parseMoney,
  parseRate,
  editable,
  percent,
  checkTaxForm,
  describeTaxRule,
  taxValues,
  taxRuleField,
  monthName,
  yearOptions,
  PRESETS,
} = await import('../app/components/tax.js');

const G = '\u202f'; // the thin space that groups thousands
const NB = '\u00a0'; // the space before a percent sign

test('a person’s INN adds up by its two check digits', () => {
  for (const inn of ['500100732259', '770708389324', '123456789047', '000000000000', '999999999950'])
    assert.ok(innValid(inn), inn);
  // One digit off, two check digits swapped, a digit changed in the body.
  for (const inn of ['500100732258', '500100732295', '500100732249', '600100732259'])
    assert.ok(!innValid(inn), inn);
  for (const inn of ['7707083893', '50010073225', '5001007322590', '50010073225x', '', null, undefined])
    assert.ok(!innValid(inn), String(inn));
});

test('the INN as typed: spaces dropped, and why a wrong one is wrong', () => {
  assert.deepEqual(checkTaxId('500100732259'), { tax_id: '500100732259', error: null });
  assert.deepEqual(checkTaxId(' 5001 0073 2259 '), { tax_id: '500100732259', error: null });
  const error = (input) => checkTaxId(input).error;
  assert.equal(error(''), 'Enter your INN');
  assert.equal(error('   '), 'Enter your INN');
  assert.equal(error('5001-0073-2259'), 'An INN has digits only');
  assert.equal(error('7707083893'), 'This is a company’s INN (10 digits); a person’s has 12');
  assert.equal(error('50010073225'), 'A person’s INN has 12 digits');
  assert.equal(error('5001007322590'), 'A person’s INN has 12 digits');
  assert.equal(error('500100732258'), 'This INN does not add up: check its digits');
  assert.equal(checkTaxId('500100732258').tax_id, null);
});

test('amounts and rates as typed', () => {
  assert.equal(parseMoney('4000'), '4000.00');
  assert.equal(parseMoney('4 000,5'), '4000.50');
  assert.equal(parseMoney(`2${G}400${G}000.00`), '2400000.00');
  assert.equal(parseMoney('0'), '0.00');
  assert.equal(parseMoney('007'), '7.00');
  for (const bad of ['', '-1', '1.234', 'abc', '1e3', '.5', '12345678901234'])
    assert.equal(parseMoney(bad), null, bad);
  assert.equal(parseRate('35'), '35');
  assert.equal(parseRate('13,5'), '13.5');
  assert.equal(parseRate('13.50'), '13.5');
  assert.equal(parseRate('0'), '0');
  assert.equal(parseRate('99'), '99');
  assert.equal(parseRate('99.0000'), '99');
  assert.equal(parseRate('12.3456'), '12.3456');
  for (const bad of ['', '100', '99.5', '99.0001', '12.34567', '-1', 'x', '1000'])
    assert.equal(parseRate(bad), null, bad);
  assert.equal(editable('4000.00'), '4000');
  assert.equal(editable('12.50'), '12.50');
  assert.equal(percent('13.5'), `13.5${NB}%`);
});

test('the rule in plain words', () => {
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: false }),
    'Tax is off: no income is recorded and nothing is withheld.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: true }),
    `35${NB}% of each person’s yearly income above 4${G}000.00 is withheld from their points when they redeem points for a reward or a payout. ` +
      'Tax their points cannot cover is reported as not withheld.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: true, bearer: 'organiser' }),
    `35${NB}% of each person’s yearly income above 4${G}000.00 is paid by the organiser on top when they redeem points, so they keep the whole reward. ` +
      'The tax paid for a person is their income too, so it is grossed up.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.prizes, enabled: true, exemption: '0.00', moment: 'accrual' }),
    `35${NB}% of each person’s yearly income is withheld from their points when points are credited to them. ` +
      'Tax their points cannot cover is reported as not withheld.',
  );
  assert.equal(
    describeTaxRule({ ...PRESETS.income, enabled: true }),
    `Each person’s yearly income is taxed at 13${NB}% up to 2${G}400${G}000.00, 15${NB}% above 2${G}400${G}000.00. ` +
      'The tax is withheld from their points when points are credited to them. ' +
      'Tax their points cannot cover is reported as not withheld.',
  );
  assert.equal(
    describeTaxRule({
      enabled: true,
      moment: 'accrual',
      bearer: 'organiser',
      exemption: '4000.00',
      scale: [
        { above: '0.00', rate: '10' },
        { above: '1000.00', rate: '20.5' },
        { above: '5000.00', rate: '30' },
      ],
    }),
    `The first 4${G}000.00 of each person’s income a year is tax-free; the income above it is taxed at ` +
      `10${NB}% up to 1${G}000.00, 20.5${NB}% from 1${G}000.00 to 5${G}000.00, 30${NB}% above 5${G}000.00. ` +
      'The tax is paid by the organiser on top when points are credited to them, so they keep all their points. ' +
      'The tax paid for a person is their income too, so it is grossed up.',
  );
});

const form = (values) => ({ ...taxValues({ ...PRESETS.prizes, enabled: true }), ...values });

test('the rule form becomes the rule the API takes', () => {
  assert.deepEqual(checkTaxForm(form({})), {
    rule: {
      enabled: true,
      moment: 'redemption',
      bearer: 'participant',
      exemption: '4000.00',
      scale: [{ above: '0.00', rate: '35' }],
    },
    errors: [],
  });
  assert.deepEqual(
    checkTaxForm(
      form({
        enabled: false,
        moment: 'accrual',
        bearer: 'organiser',
        exemption: '0',
        scale: [
          { above: '0', rate: '13' },
          { above: '2 400 000', rate: '15,25' },
        ],
      }),
    ),
    {
      rule: {
        enabled: false,
        moment: 'accrual',
        bearer: 'organiser',
        exemption: '0.00',
        scale: [
          { above: '0.00', rate: '13' },
          { above: '2400000.00', rate: '15.25' },
        ],
      },
      errors: [],
    },
  );
  // Every preset passes its own checks.
  for (const [name, preset] of Object.entries(PRESETS))
    assert.deepEqual(checkTaxForm(form(taxValues(preset))).errors, [], name);
});

test('the rule form keeps to the server’s checks', () => {
  const fields = (values) => checkTaxForm(form(values)).errors.map((e) => e.field);
  const steps = (...pairs) => pairs.map(([above, rate]) => ({ above, rate }));
  assert.deepEqual(fields({ scale: steps(['0', '35'], ['1000', '40'], ['2000', '99']) }), []);
  assert.deepEqual(fields({ scale: steps(['100', '35']) }), ['scale.0.above']);
  assert.deepEqual(fields({ scale: steps(['0', '13'], ['0', '15']) }), ['scale.1.above']);
  assert.deepEqual(fields({ scale: steps(['0', '13'], ['5000', '15'], ['4000', '20']) }), ['scale.2.above']);
  assert.deepEqual(fields({ scale: steps(['0', '13'], ['', '15']) }), ['scale.1.above']);
  assert.deepEqual(fields({ scale: steps(['0', '100']) }), ['scale.0.rate']);
  assert.deepEqual(fields({ scale: steps(['0', '']) }), ['scale.0.rate']);
  assert.deepEqual(fields({ scale: steps(['0', '12.34567']) }), ['scale.0.rate']);
  assert.deepEqual(fields({ scale: [] }), ['scale']);
  assert.deepEqual(fields({ exemption: '-1' }), ['exemption']);
  assert.deepEqual(fields({ exemption: '4000.001' }), ['exemption']);
  assert.deepEqual(fields({ exemption: '' }), ['exemption']);
  assert.deepEqual(fields({ moment: 'sometimes' }), ['moment']);
  assert.deepEqual(fields({ bearer: 'nobody' }), ['bearer']);
  // Every wrong field at once, and no rule to send.
  const all = checkTaxForm(form({ exemption: 'x', scale: steps(['0', '120'], ['0', '5']) }));
  assert.deepEqual(
    all.errors.map((e) => e.field),
    ['exemption', 'scale.0.rate', 'scale.1.above'],
  );
  assert.equal(all.rule, null);
  assert.equal(all.errors[1].message, 'A percent from 0 to 99, at most four decimals');
  assert.equal(all.errors[2].message, `Must be more than the step before it (0.00)`);
  assert.equal(
    checkTaxForm(form({ scale: steps(['0', '13'], ['2400000', '15'], ['100', '20']) })).errors[0].message,
    `Must be more than the step before it (2${G}400${G}000.00)`,
  );
});

test('a stored rule fills the form; a server error finds its field', () => {
  assert.deepEqual(taxValues({ ...PRESETS.income, enabled: true }), {
    enabled: true,
    moment: 'accrual',
    bearer: 'participant',
    exemption: '0',
    scale: [
      { above: '0', rate: '13' },
      { above: '2400000', rate: '15' },
    ],
  });
  assert.deepEqual(taxValues(null), {
    enabled: false,
    moment: 'redemption',
    bearer: 'participant',
    exemption: '0',
    scale: [{ above: '0', rate: '' }],
  });
  assert.equal(taxRuleField('the exemption must not be negative'), 'exemption');
  assert.equal(taxRuleField('each step must start above the one before it'), 'scale');
  assert.equal(taxRuleField('a rate is at most 99 percent (grossing up needs a rate below 100)'), 'scale');
});

test('a certificate names its months, and the year picker starts at this year', () => {
  assert.equal(monthName(1), 'January');
  assert.equal(monthName(12), 'December');
  assert.deepEqual(yearOptions(new Date(2026, 5, 1)), [2026, 2025, 2024, 2023, 2022]);
  assert.deepEqual(yearOptions(new Date(2001, 0, 1)), [2001, 2000]);
});
