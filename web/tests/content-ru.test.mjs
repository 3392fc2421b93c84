// Unit tests of the content pieces (components/content.js) in Russian, run with
// `node --test`: unread counts with their plural forms ("3 непрочитанных",
// "1 непрочитанная новость"), a news item's status and an audience in words, and the
// news form's errors. The English texts are in content.test.mjs.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { tn, t, locale } = await import('../app/i18n.js');
const { newsStatusWord, newsStatusText, audienceText, newsRequest, pushedItem } =
  await import('../app/components/content.js');

test('the page is in Russian', () => {
  assert.equal(locale, 'ru');
});

test('unread messages take the Russian plural forms', () => {
  const unread = (n) => tn('inbox.unread', n);
  assert.equal(unread(1), '1 непрочитанное');
  assert.equal(unread(3), '3 непрочитанных');
  assert.equal(unread(5), '5 непрочитанных');
  assert.equal(unread(11), '11 непрочитанных');
  assert.equal(unread(21), '21 непрочитанное');
  assert.equal(unread(24), '24 непрочитанных');
  assert.equal(t('inbox.bellLabel', { unread: unread(3) }), 'Сообщения: 3 непрочитанных');
  const news = (n) => tn('news.unread', n);
  assert.equal(news(1), '1 непрочитанная новость');
  assert.equal(news(2), '2 непрочитанные новости');
  assert.equal(news(5), '5 непрочитанных новостей');
  assert.equal(news(22), '22 непрочитанные новости');
});

test('a news item’s status and audience read in Russian', () => {
  assert.equal(newsStatusWord('published'), 'Опубликована');
  assert.equal(newsStatusWord('scheduled'), 'Запланирована');
  assert.equal(newsStatusWord('archived'), 'В архиве');
  const now = Date.parse('2026-12-03T10:00:00Z');
  assert.equal(
    newsStatusText(
      { publish_at: Date.parse('2026-12-05T06:00:00Z'), archived: false },
      { now, timeZone: 'Europe/Moscow' },
    ),
    'выйдет 05.12.2026, 09:00',
  );
  const names = { regions: new Map([[1, 'Москва']]), levels: new Map([[2, 'Золото']]) };
  assert.equal(audienceText({}, names), 'Всем');
  assert.equal(audienceText({ regions: [1], levels: [2] }, names), 'Регионы: Москва · Уровни: Золото');
  assert.equal(audienceText({ stores: [1, 2, 3] }), '3 магазина');
  assert.equal(audienceText({ stores: [1, 2, 3, 4, 5], partners: [1] }), '5 магазинов · 1 партнёр');
});

test('the news form’s errors and a pushed message are in Russian', () => {
  const { errors } = newsRequest(
    { title: 'Новость', body: 'Текст', when: 'at', at: '' },
    { timeZone: 'Europe/Moscow' },
  );
  assert.deepEqual(errors, [{ field: 'at', message: 'Укажите дату и время публикации.' }]);
  const item = pushedItem(
    {
      id: 1,
      title: 'x',
      body: 'y',
      texts: {
        ru: { title: 'Начислены баллы: 5.00', body: 'Начислений: 1.' },
        en: { title: 'Points credited: 5.00', body: '' },
      },
    },
    locale,
  );
  assert.equal(item.title, 'Начислены баллы: 5.00');
});
