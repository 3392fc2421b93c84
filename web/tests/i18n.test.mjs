// Unit tests of the dictionaries in i18n.js, run with `node --test web/tests/`: every
// Russian text stands for an English one with the same placeholders, plural families
// are complete, every key the code names literally exists, every English key has its
// Russian text (so no page ships half in English), and counts take the right Russian
// form (1 балл, 2 балла, 5 баллов). The module reads the browser's language, so the few globals it
// touches are stubbed; the Russian instance is the same file imported with `?lang=ru`.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const english = await import('../app/i18n.js');
globalThis.location = { search: '?lang=ru' };
const russian = await import('../app/i18n.js?lang=ru');
const { en, ru } = english.dictionaries;

const PLURAL = /\.(one|few|many|other)$/;
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** The English text a key stands for: itself, or its family's `.other` for a plural form. */
function englishOf(key) {
  if (key in en) return en[key];
  if (PLURAL.test(key)) return en[key.replace(PLURAL, '.other')];
  return undefined;
}

const app = new URL('../app/', import.meta.url).pathname;
async function sources() {
  const files = [];
  for (const dir of ['', 'components', 'pages']) {
    for (const name of await readdir(join(app, dir))) {
      if (name.endsWith('.js')) files.push(join(dir, name));
    }
  }
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(join(app, file), 'utf8') })));
}

/** Keys named literally: t('…'), tOr('…', …), tn('…', …) (a family) and route labels (nav: '…'). */
function literalKeys(text) {
  const keys = [];
  for (const m of text.matchAll(/\b(t|tOr|tn)\(\s*'([\w.]+)'/g)) keys.push({ key: m[2], plural: m[1] === 'tn' });
  for (const m of text.matchAll(/\b(?:nav|title|text): '([a-z]+\.[\w.]+)'/g)) keys.push({ key: m[1], plural: false });
  return keys;
}

test('every Russian text stands for an English one, with the same placeholders', () => {
  for (const [key, text] of Object.entries(ru)) {
    const source = englishOf(key);
    assert.notEqual(source, undefined, `ru has ${key}, en does not`);
    assert.deepEqual(placeholders(text), placeholders(source), `placeholders of ${key}`);
  }
});

test('plural families are complete', () => {
  const families = new Set(
    Object.keys({ ...en, ...ru })
      .filter((k) => PLURAL.test(k))
      .map((k) => k.replace(PLURAL, '')),
  );
  for (const family of families) {
    assert.ok(`${family}.other` in en, `en lacks ${family}.other`);
    if (Object.keys(ru).some((k) => k.startsWith(`${family}.`))) {
      for (const form of ['one', 'few', 'many', 'other'])
        assert.ok(`${family}.${form}` in ru, `ru lacks ${family}.${form}`);
    }
  }
});

test('every key the code names exists in English', async () => {
  for (const { file, text } of await sources()) {
    for (const { key, plural } of literalKeys(text)) {
      assert.ok(plural ? `${key}.other` in en : key in en, `${file} names ${key}, which en lacks`);
    }
  }
});

test('every English text has its Russian one', () => {
  const missing = [];
  for (const key of Object.keys(en)) {
    const forms = PLURAL.test(key)
      ? ['one', 'few', 'many', 'other'].map((form) => key.replace(PLURAL, `.${form}`))
      : [key];
    for (const form of forms) if (!(form in ru)) missing.push(form);
  }
  assert.deepEqual([...new Set(missing)], [], 'keys ru lacks');
  for (const [key, text] of Object.entries(ru)) assert.ok(text.trim(), `ru has an empty ${key}`);
});

test('counts take the language’s plural form', () => {
  assert.equal(english.tn('points.n', '1'), '1 point');
  assert.equal(english.tn('points.n', '5'), '5 points');
  assert.equal(english.tn('points.n', '1.50'), '1.50 points');
  const ruPoints = (n) => russian.tn('points.n', n);
  assert.equal(ruPoints('1'), '1 балл');
  assert.equal(ruPoints('2'), '2 балла');
  assert.equal(ruPoints('4'), '4 балла');
  assert.equal(ruPoints('5'), '5 баллов');
  assert.equal(ruPoints('11'), '11 баллов');
  assert.equal(ruPoints('12'), '12 баллов');
  assert.equal(ruPoints('21'), '21 балл');
  assert.equal(ruPoints('22'), '22 балла');
  assert.equal(ruPoints('100'), '100 баллов');
  assert.equal(ruPoints('1.00'), '1.00 балл');
  assert.equal(ruPoints('500.00'), '500.00 баллов');
  assert.equal(ruPoints('1.50'), '1.50 балла');
  // The number shown may be formatted apart from the count that picks the form.
  assert.equal(russian.tn('points.n', '1500.00', { n: '1 500,00' }), '1 500,00 баллов');
});

test('the Russian menu, login and common texts read as they should', () => {
  assert.equal(russian.locale, 'ru');
  assert.equal(russian.t('nav.points'), 'Мои баллы');
  assert.equal(russian.t('nav.tasks'), 'Задания');
  assert.equal(russian.t('nav.moderation'), 'Модерация');
  assert.equal(russian.t('nav.payouts'), 'Выплаты');
  assert.equal(russian.t('nav.logout'), 'Выйти');
  assert.equal(russian.t('login.submit'), 'Войти');
  assert.equal(russian.t('common.save'), 'Сохранить');
  assert.equal(russian.t('lang.label'), 'Язык');
  assert.equal(russian.t('board.myRank', { rank: 3, n: 40 }), 'Ваше место: 3 из 40');
  assert.equal(russian.t('task.decided.approved', { task: 'Фото полки' }), 'Задание «Фото полки» принято.');
});

test('a Russian browser gets Russian, an English one English', async () => {
  globalThis.location = { search: '' };
  globalThis.navigator = { languages: ['ru-RU', 'en-US'] };
  assert.equal((await import('../app/i18n.js?browser=ru')).locale, 'ru');
  globalThis.navigator = { languages: ['de-DE', 'en-US'] };
  assert.equal((await import('../app/i18n.js?browser=de')).locale, 'en');
  // The header's switch (localStorage) wins over the browser.
  globalThis.localStorage = { getItem: (k) => (k === 'stimul.lang' ? 'en' : null) };
  globalThis.navigator = { languages: ['ru-RU'] };
  assert.equal((await import('../app/i18n.js?switch=en')).locale, 'en');
  globalThis.localStorage = { getItem: () => null };
});

test('the Russian texts of payouts and card payments read as they should', () => {
  assert.equal(russian.t('order.status.awaiting_payment'), 'Ждёт оплаты');
  assert.equal(
    russian.t('payouts.changed', { id: 7, status: russian.t('payout.status.paid') }),
    'Выплата №7: Выплачена',
  );
  assert.equal(russian.t('money.rub', { n: '200,00' }), '200,00\u00a0₽');
});
