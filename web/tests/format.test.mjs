// Unit tests of format.js (points as decimal strings, exact BigInt arithmetic), run
// with `node --test web/tests/`. The module reads the browser's language through
// i18n.js, so the few globals it touches are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const { points, toCents, parseAmount, percentOf, isZero, isNegative, duration } = await import('../app/format.js');
const NB = '\u202f';

test('points are grouped with thin spaces and keep two decimals', () => {
  assert.equal(points('1250.5'), `1${NB}250.50`);
  assert.equal(points('1234567.89'), `1${NB}234${NB}567.89`);
  assert.equal(points('0'), '0.00');
  assert.equal(points('-3'), '\u22123.00');
  assert.equal(points('12.50', { signed: true }), '+12.50');
  assert.equal(points('0.00', { signed: true }), '0.00');
  assert.equal(points('-0.00'), '0.00');
  assert.equal(points(null), '—');
  assert.equal(points('not a number'), 'not a number');
});

test('amounts become exact hundredths', () => {
  assert.equal(toCents('10.01'), 1001n);
  assert.equal(toCents('-5'), -500n);
  assert.equal(toCents('0.1') + toCents('0.2'), toCents('0.3'));
  assert.throws(() => toCents('1.234'));
  assert.throws(() => toCents('1e3'));
});

test('typed amounts are normalised or refused', () => {
  assert.equal(parseAmount('1 250,5'), '1250.50');
  assert.equal(parseAmount('12'), '12.00');
  assert.equal(parseAmount('0.07'), '0.07');
  assert.equal(parseAmount('-5', { allowNegative: true }), '-5.00');
  assert.equal(parseAmount('-5'), null);
  assert.equal(parseAmount('0'), null);
  assert.equal(parseAmount('1.234'), null);
  assert.equal(parseAmount('abc'), null);
  assert.equal(parseAmount(''), null);
});

test('progress is a clamped whole percent', () => {
  assert.equal(percentOf(1250n, 100000n), 1);
  assert.equal(percentOf(50n, 100n), 50);
  assert.equal(percentOf(200n, 100n), 100);
  assert.equal(percentOf(0n, 0n), 100);
});

test('signs and zeros are read without floats', () => {
  assert.ok(isZero('0.00'));
  assert.ok(isZero('-0'));
  assert.ok(!isZero('0.01'));
  assert.ok(isNegative('-0.01'));
  assert.ok(!isNegative('-0.00'));
  assert.ok(!isNegative('3'));
});

test('durations read naturally', () => {
  assert.equal(duration(42_000), '42\u00a0s');
  assert.equal(duration(125_000), '2\u00a0min\u00a05\u00a0s');
  assert.equal(duration(3 * 3600_000), '3\u00a0h');
});

test('program dates read as dates, day first, with the year only when it is another', async () => {
  const { day } = await import('../app/format.js');
  const in2026 = new Date(2026, 5, 1);
  assert.equal(day('2026-12-14', { today: in2026 }), '14 December');
  assert.equal(day('2027-01-01', { today: in2026 }), '1 January 2027');
  // The day before, across a month and a year.
  assert.equal(day('2027-01-01', { plusDays: -1, today: in2026 }), '31 December');
  assert.equal(day('2026-03-01', { plusDays: -1, today: in2026 }), '28 February');
  assert.equal(day('soon'), 'soon');
  assert.equal(day(null), '—');
});
