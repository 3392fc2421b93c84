// Unit tests of the mailing pieces (components/mailings.js) in Russian, run with
// `node --test`: the reach with its plural forms ("1 человек", "2 человека",
// "5 человек"), status words, the audience and channels in words, the composer's
// errors and what SMS cost. The English texts are in mailings.test.mjs.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { t, locale } = await import('../app/i18n.js');
const { peopleText, mailingStatusWord, mailingStatusText, mailingAudienceText, channelsText, mailingRequest } =
  await import('../app/components/mailings.js');

test('the page is in Russian', () => {
  assert.equal(locale, 'ru');
});

test('the reach takes the Russian plural forms', () => {
  assert.equal(peopleText(1), '1 человек');
  assert.equal(peopleText(2), '2 человека');
  assert.equal(peopleText(4), '4 человека');
  assert.equal(peopleText(5), '5 человек');
  assert.equal(peopleText(0), '0 человек');
  assert.equal(peopleText(11), '11 человек');
  assert.equal(peopleText(12), '12 человек');
  assert.equal(peopleText(21), '21 человек');
  assert.equal(peopleText(22), '22 человека');
  assert.equal(peopleText(111), '111 человек');
  assert.equal(peopleText(1001), '1\u202f001 человек');
  assert.equal(t('mailings.reaches', { people: peopleText(2) }), 'Получат: 2 человека');
  assert.equal(t('mailings.confirmReach', { people: peopleText(5) }), 'Охват рассылки: 5 человек.');
});

test('a mailing’s status, audience and channels read in Russian', () => {
  assert.equal(mailingStatusWord('scheduled'), 'Запланирована');
  assert.equal(mailingStatusWord('sending'), 'Отправляется');
  assert.equal(mailingStatusWord('finished'), 'Отправлена');
  assert.equal(mailingStatusWord('cancelled'), 'Отменена');
  const scheduled = { status: 'scheduled', send_at: Date.parse('2026-12-05T06:00:00Z') };
  assert.equal(mailingStatusText(scheduled, { timeZone: 'Europe/Moscow', lang: 'ru' }), 'отправится 05.12.2026, 09:00');
  const today = new Date('2026-12-03T10:00:00Z');
  assert.equal(mailingAudienceText({}), 'Все участники');
  assert.equal(
    mailingAudienceText(
      { regions: [1], levels: [0], roles: ['owner'], active_since: '2026-11-01' },
      { regions: new Map([[1, 'Москва']]), levels: new Map([[0, 'Бронза']]) },
      { today },
    ),
    'Регионы: Москва · Уровни: Бронза · Владельцы магазинов · Активны с 1 ноября',
  );
  assert.equal(
    mailingAudienceText({ roles: ['seller'], inactive_since: '2025-12-31' }, {}, { today }),
    'Продавцы · Неактивны с 31 декабря 2025 г.',
  );
  assert.equal(channelsText(['sms', 'email']), 'Входящие, SMS, E-mail');
});

test('the composer’s errors and the SMS cost read in Russian', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  const { errors } = mailingRequest(
    {
      'audience.stores': 'три',
      'texts.ru.title': '',
      'texts.ru.body': '',
      'texts.en.title': 'Hello',
      when: 'at',
      at: '2026-12-01T10:00',
    },
    { timeZone: 'Europe/Moscow', now },
  );
  assert.deepEqual(errors, [
    { field: 'audience.stores', message: 'Номера магазинов через запятую, например 3, 5' },
    { field: 'texts.ru.title', message: 'Обязательное поле' },
    { field: 'texts.ru.body', message: 'Обязательное поле' },
    { field: 'texts.en.body', message: 'У английского текста нужны и заголовок, и текст — или ни того, ни другого' },
    { field: 'at', message: 'Выберите время в будущем или отправьте сейчас.' },
  ]);
  assert.equal(
    t('mailings.smsCost', { parts: '2', total: '44', people: peopleText(22) }),
    'Этот текст — 2 SMS на человека; всего до 44 платных SMS (охват: 22 человека).',
  );
});
