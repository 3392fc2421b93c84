// Unit tests of the webhook, message and company-lookup pieces in Russian, run with
// `node --test`: the events and triggers in words, tries with their plural forms ("1
// попытка", "2 попытки", "5 попыток"), a template's refusal, quiet hours and the INN's
// messages. The English texts are in webhooks.test.mjs, notifications.test.mjs and
// company.test.mjs (a module reads its language once).

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { locale, t } = await import('../app/i18n.js');
const { eventWord, deliveryStatusWord, triesText, attemptText, webhookRequest } =
  await import('../app/components/webhooks.js');
const { triggerWord, channelsText, checkTemplate, quietText, settingsRequest } =
  await import('../app/components/notifications.js');
const { foundText, lookupFailure } = await import('../app/components/company.js');

test('the page is in Russian', () => {
  assert.equal(locale, 'ru');
  assert.equal(t('nav.webhooks'), 'Вебхуки');
  assert.equal(t('nav.notifications'), 'Сообщения');
  assert.equal(t('nav.settings'), 'Настройки');
});

test('events and delivery statuses read in Russian', () => {
  assert.equal(eventWord('points.credited'), 'Начислены баллы');
  assert.equal(eventWord('order.placed'), 'Оформлен заказ');
  assert.equal(eventWord('order.status_changed'), 'Изменился статус заказа');
  assert.equal(eventWord('code.registered'), 'Зарегистрирован код товара');
  assert.equal(eventWord('participant.approved'), 'Участник одобрен');
  assert.equal(eventWord('task.decided'), 'Принято решение по заданию');
  assert.equal(deliveryStatusWord('delivered'), 'Доставлено');
  assert.equal(deliveryStatusWord('failed'), 'Не доставлено');
  assert.equal(attemptText({ status_code: 200, duration_ms: 85 }), 'Ответ 200 за 85 мс');
  assert.equal(
    attemptText({ status_code: null, error: 'тайм-аут', duration_ms: 5000 }),
    'Нет ответа: тайм-аут (5\u202f000 мс)',
  );
  assert.equal(webhookRequest({ url: '', events: [] }).errors[1].message, 'Выберите хотя бы одно событие');
});

test('tries take the Russian plural forms', () => {
  assert.equal(triesText(1), '1 попытка');
  assert.equal(triesText(2), '2 попытки');
  assert.equal(triesText(4), '4 попытки');
  assert.equal(triesText(5), '5 попыток');
  assert.equal(triesText(11), '11 попыток');
  assert.equal(triesText(12), '12 попыток');
  assert.equal(triesText(21), '21 попытка');
  assert.equal(triesText(22), '22 попытки');
  assert.equal(triesText(0), '0 попыток');
});

test('triggers, channels and a template’s refusal in Russian', () => {
  assert.equal(triggerWord('order_status'), 'Изменился статус заказа');
  assert.equal(triggerWord('registration_approved'), 'Регистрация подтверждена');
  assert.equal(channelsText(['email']), 'Входящие, E-mail');
  assert.equal(
    checkTemplate('Вам начислено {amout}', ['amount', 'credits', 'balance']),
    'Неизвестная переменная {amout}: в этом сообщении можно использовать {amount}, {credits}, {balance}',
  );
  assert.equal(quietText({ from: '22:00', to: '07:30' }), 'с 22:00 до 07:30');
  assert.equal(quietText(null), 'нет');
  const current = { language: 'ru', sms: true, email: true, push: true, quiet_hours: null, email_address: null };
  const same = settingsRequest(
    {
      language: 'ru',
      sms: true,
      email: true,
      push: true,
      quiet: true,
      'quiet_hours.from': '23:00',
      'quiet_hours.to': '23:00',
    },
    current,
  );
  assert.equal(same.errors[0].message, 'Начало и конец тихих часов должны различаться');
});

test('the INN lookup speaks Russian', () => {
  assert.equal(t('company.checkDigits'), 'Проверьте цифры: контрольные цифры ИНН не сходятся.');
  assert.equal(
    foundText({ name: 'ООО «Ромашка»', status: 'liquidated' }),
    'Найдено в реестре: ООО «Ромашка» (статус: ликвидирована)',
  );
  assert.equal(lookupFailure({ status: 404 }), 'В реестре нет такого ИНН — введите данные вручную.');
  assert.equal(lookupFailure({ status: 503 }), 'Реестр недоступен — введите данные вручную.');
  assert.equal(
    lookupFailure({ status: 429, retryAfter: 30 }),
    'Слишком много запросов — подождите 30 с и попробуйте снова.',
  );
});
