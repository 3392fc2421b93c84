// Unit tests of the company lookup's pieces (components/company.js), in English, run
// with `node --test`: an INN's check digits (a company's 10 digits, a sole trader's 12)
// as typed, the name a form takes from a company, and why a lookup did not fill the
// form. The module reads the browser's language, so the few globals it touches are
// stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const { innCheck, companyName, foundText, lookupFailure } = await import('../app/components/company.js');

test('a company’s 10-digit INN is checked by its check digit', () => {
  // Sberbank: 2·7 + 4·7 + 10·0 + 3·7 + 5·0 + 9·8 + 4·3 + 6·8 + 8·9 = 267; 267 mod 11 = 3.
  assert.deepEqual(innCheck('7707083893'), { inn: '7707083893', state: 'valid' });
  assert.deepEqual(innCheck('7707083894'), { inn: null, state: 'invalid' });
  // Spaces are dropped, as the server drops them.
  assert.deepEqual(innCheck(' 7707 083 893 '), { inn: '7707083893', state: 'valid' });
  // A weighted sum of 10 modulo 11 makes the check digit 0 (8·4 = 32; 32 mod 11 = 10).
  assert.equal(innCheck('0000000040').state, 'valid');
  assert.equal(innCheck('0000000041').state, 'invalid');
});

test('a sole trader’s 12-digit INN is checked by both its check digits', () => {
  assert.deepEqual(innCheck('500100732259'), { inn: '500100732259', state: 'valid' });
  assert.equal(innCheck('500100732258').state, 'invalid'); // the twelfth digit wrong
  assert.equal(innCheck('500100732249').state, 'invalid'); // the eleventh digit wrong
});

test('an INN still being typed is not judged; other input is', () => {
  assert.equal(innCheck('').state, 'empty');
  assert.equal(innCheck(null).state, 'empty');
  assert.equal(innCheck('770708').state, 'typing');
  assert.equal(innCheck('77070838931').state, 'typing'); // 11 digits: a 12th may come
  assert.equal(innCheck('77070838A3').state, 'digits');
  assert.equal(innCheck('7707-083893').state, 'digits');
  assert.equal(innCheck('5001007322591').state, 'long');
});

test('a form takes a company’s short name when the register has one', () => {
  assert.equal(
    companyName({ name: 'ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО "СБЕРБАНК РОССИИ"', short_name: 'ПАО СБЕРБАНК' }),
    'ПАО СБЕРБАНК',
  );
  assert.equal(companyName({ name: 'ИП Иванов Иван Иванович', short_name: null }), 'ИП Иванов Иван Иванович');
  assert.equal(companyName({ name: ' ООО "Ромашка" ', short_name: '' }), 'ООО "Ромашка"');
  assert.equal(companyName(null), '');
});

test('what the register found, in one line, its status when not active', () => {
  assert.equal(foundText({ name: 'ООО "Ромашка"', status: 'active' }), 'Found in the register: ООО "Ромашка"');
  assert.equal(foundText({ name: 'ООО "Ромашка"', status: null }), 'Found in the register: ООО "Ромашка"');
  assert.equal(
    foundText({ name: 'ООО "Ромашка"', status: 'liquidating' }),
    'Found in the register: ООО "Ромашка" (status: being wound up)',
  );
  assert.equal(
    foundText({ name: 'ООО "Ромашка"', status: 'suspended' }),
    'Found in the register: ООО "Ромашка" (status: suspended)',
  );
});

test('a failed lookup says what to do, without shouting', () => {
  assert.equal(
    lookupFailure({ status: 404, code: 'not_found' }),
    'The register does not know this INN: type the details by hand.',
  );
  assert.equal(
    lookupFailure({ status: 503, code: 'service_unavailable' }),
    'The register is unavailable: type the details by hand.',
  );
  assert.equal(
    lookupFailure({ status: 429, code: 'rate_limited', retryAfter: 42 }),
    'Too many lookups: wait 42 s and try again.',
  );
  assert.equal(lookupFailure({ status: 429, code: 'rate_limited' }), 'Too many lookups: wait a minute and try again.');
  assert.equal(lookupFailure({ status: 0, code: 'network' }), 'The register is unavailable: type the details by hand.');
});
