// The Russian texts of support requests (components/support.js), run with
// `node --test`: the status words, who wrote a list line's message, and the plural
// forms of the message count (1 сообщение, 2 сообщения, 5 сообщений). A process of its
// own: modules read their language once.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { t, tn, locale } = await import('../app/i18n.js');
const { statusWord, lastLine, previewText } = await import('../app/components/support.js');

const message = (id, fromStaff, text) => ({
  id,
  author_id: fromStaff ? 1 : 5,
  author_name: fromStaff ? 'Админ' : 'Продавец 1',
  from_staff: fromStaff,
  text,
  photo: null,
  created_at: id * 1000,
});

test('the page is Russian', () => {
  assert.equal(locale, 'ru');
});

test('statuses read in Russian', () => {
  assert.equal(statusWord('open'), 'Ждёт ответа');
  assert.equal(statusWord('answered'), 'Есть ответ');
  assert.equal(statusWord('closed'), 'Закрыто');
});

test('a list line names who wrote last', () => {
  const asked = { status: 'open', messages: [message(1, false, 'Где мои баллы?')] };
  assert.equal(lastLine(asked), 'Вы: Где мои баллы?');
  assert.equal(lastLine(asked, { staff: true }), 'Продавец 1: Где мои баллы?');
  const answered = { status: 'answered', messages: [...asked.messages, message(2, true, 'Баллы начислены.')] };
  assert.equal(lastLine(answered), 'Поддержка: Баллы начислены.');
  assert.equal(previewText('Не пришли баллы за код с коробки', 20), 'Не пришли баллы за…');
});

test('the message count takes the Russian plural forms', () => {
  assert.equal(tn('support.messages', 1), '1 сообщение');
  assert.equal(tn('support.messages', 2), '2 сообщения');
  assert.equal(tn('support.messages', 4), '4 сообщения');
  assert.equal(tn('support.messages', 5), '5 сообщений');
  assert.equal(tn('support.messages', 11), '11 сообщений');
  assert.equal(tn('support.messages', 21), '21 сообщение');
  assert.equal(tn('support.messages', 22), '22 сообщения');
  assert.equal(tn('support.messages', 0), '0 сообщений');
});

test('the texts of a request read as they should', () => {
  assert.equal(t('support.number', { id: 7 }), 'Обращение № 7');
  assert.equal(t('support.replied', { text: 'Баллы начислены.' }), 'Ответ поддержки: Баллы начислены.');
  assert.equal(
    t('supportAdmin.newToast', { name: 'Продавец 1', subject: 'Нет баллов' }),
    'Новое обращение «Нет баллов»: Продавец 1',
  );
});
