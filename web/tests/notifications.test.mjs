// Unit tests of the message pieces (components/notifications.js), in English, run with
// `node --test`: a template's `{name}` placeholders read and checked as the server
// checks them (only the trigger's variables; `{{` and `}}` literal braces; an unclosed
// brace refused), a template rendered with sample values, the template form's request
// (texts equal to the built-in ones stay built-in), triggers and channels in words, and
// a participant's settings (times, address, only what changed). The Russian texts are in
// messaging-ru.test.mjs. The module reads the browser's language, so the few globals it
// touches are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  TRIGGERS,
  templateParts,
  checkTemplate,
  renderTemplate,
  sampleValues,
  templateRequest,
  triggerWord,
  triggerHint,
  channelWord,
  channelsText,
  variableWord,
  normalTime,
  emailValid,
  quietText,
  settingsRequest,
} = await import('../app/components/notifications.js');

const CREDITED = ['amount', 'credits', 'balance'];
const ORDER = ['order_id', 'status'];

test('a template’s parts: text, names (trimmed) and doubled braces as literal ones', () => {
  assert.deepEqual(templateParts('Order {order_id}: { status }'), [
    { text: 'Order ' },
    { name: 'order_id' },
    { text: ': ' },
    { name: 'status' },
    { text: '' },
  ]);
  assert.deepEqual(templateParts('{{bonus}} and }} alone }'), [{ text: '{bonus} and } alone }' }]);
  assert.equal(templateParts('{amount'), null);
  assert.deepEqual(templateParts(''), [{ text: '' }]);
});

test('only the trigger’s variables pass, as the server checks them', () => {
  assert.equal(checkTemplate('Points credited: {amount}', CREDITED), null);
  assert.equal(checkTemplate('{amount} of {credits}, now {balance}', CREDITED), null);
  assert.equal(
    checkTemplate('You got {amout}', CREDITED),
    'Unknown variable {amout}: this message may use {amount}, {credits}, {balance}',
  );
  assert.equal(
    checkTemplate('Order {order_id}: {amount}', ORDER),
    'Unknown variable {amount}: this message may use {order_id}, {status}',
  );
  // Doubled braces are text, so a literal {amout} in them is fine.
  assert.equal(checkTemplate('{{amout}} {amount}', CREDITED), null);
  assert.equal(checkTemplate('{ amount }', CREDITED), null);
  assert.match(checkTemplate('{}', CREDITED), /^Unknown variable \{\}/);
  assert.equal(checkTemplate('{amount', CREDITED), 'A brace is not closed: write a brace of your own doubled');
  assert.equal(checkTemplate('   ', CREDITED), 'Required');
  assert.equal(checkTemplate('x'.repeat(2000), CREDITED), null);
  assert.equal(checkTemplate('x'.repeat(2001), CREDITED), 'At most 2000 characters');
});

test('a template renders with its values, a missing one empty, trimmed', () => {
  assert.equal(
    renderTemplate('{{bonus}} {amount} points, {credits} credits {missing}', { amount: '12.50', credits: '3' }),
    '{bonus} 12.50 points, 3 credits',
  );
  assert.equal(renderTemplate('Order {order_id}: {status}', sampleValues('en')), 'Order 1024: shipped');
  assert.equal(renderTemplate('Заказ №{order_id}: {status}', sampleValues('ru')), 'Заказ №1024: отправлен');
  assert.equal(
    renderTemplate('{name}, welcome to {program}!', sampleValues('en', { program: 'Shine' })),
    'Anna, welcome to Shine!',
  );
  assert.equal(renderTemplate('{amount', {}), '{amount');
});

test('triggers, channels and variables in words', () => {
  assert.deepEqual(TRIGGERS, [
    'points_credited',
    'level_up',
    'new_task',
    'order_status',
    'task_decided',
    'registration_approved',
    'points_expiring',
  ]);
  assert.equal(triggerWord('new_task'), 'A new task opens');
  assert.equal(triggerWord('order_status'), 'An order’s status changes');
  assert.equal(triggerWord('points_expiring'), 'Points expire soon');
  assert.equal(triggerWord('mystery'), 'mystery');
  for (const trigger of TRIGGERS) assert.ok(triggerHint(trigger), `a hint for ${trigger}`);
  assert.equal(channelWord('email'), 'E-mail');
  assert.equal(channelsText([]), 'Inbox');
  assert.equal(channelsText(['push', 'sms']), 'Inbox, SMS, Push');
  assert.equal(variableWord('order_id'), 'the order’s number');
  assert.equal(variableWord('nothing'), '');
});

const orderTemplate = {
  trigger: 'order_status',
  channels: [],
  custom: false,
  variables: ORDER,
  texts: {
    ru: { title: 'Заказ №{order_id}: {status}', body: 'Статус вашего заказа №{order_id} изменился: {status}.' },
    en: { title: 'Order {order_id}: {status}', body: 'Your order {order_id} is now {status}.' },
  },
};
const formOf = (template, change = {}) => ({
  channels: template.channels,
  'texts.ru.title': template.texts.ru.title,
  'texts.ru.body': template.texts.ru.body,
  'texts.en.title': template.texts.en.title,
  'texts.en.body': template.texts.en.body,
  ...change,
});

test('the template form: built-in texts untouched stay built-in, changed ones are sent', () => {
  const channelsOnly = templateRequest(formOf(orderTemplate, { channels: ['email', 'sms', 'fax'] }), orderTemplate);
  assert.deepEqual(channelsOnly, { body: { channels: ['sms', 'email'], texts: null }, errors: [] });

  const changed = templateRequest(
    formOf(orderTemplate, { 'texts.en.title': ' Order {order_id} is {status} ' }),
    orderTemplate,
  );
  assert.deepEqual(changed.errors, []);
  assert.equal(changed.body.texts.en.title, 'Order {order_id} is {status}');
  assert.equal(changed.body.texts.ru.title, 'Заказ №{order_id}: {status}');

  // The program's own texts are sent as they are, even unchanged.
  const own = { ...orderTemplate, custom: true };
  assert.notEqual(templateRequest(formOf(own), own).body.texts, null);

  const typo = templateRequest(
    formOf(orderTemplate, { 'texts.en.title': 'Order {order_id}: {amout}', 'texts.ru.body': '' }),
    orderTemplate,
  );
  assert.deepEqual(
    typo.errors.map((e) => e.field),
    ['texts.ru.body', 'texts.en.title'],
  );
  assert.match(typo.errors[1].message, /^Unknown variable \{amout\}/);
});

test('times and addresses as the server takes them', () => {
  assert.equal(normalTime('22:00'), '22:00');
  assert.equal(normalTime('8:05'), '08:05');
  assert.equal(normalTime('07:30:00'), '07:30');
  assert.equal(normalTime('24:00'), null);
  assert.equal(normalTime('7.30'), null);
  assert.equal(normalTime(''), null);
  assert.ok(emailValid('anna@example.com'));
  assert.ok(emailValid(' anna+shop@mail.example.ru '));
  assert.ok(!emailValid('anna@example'));
  assert.ok(!emailValid('@example.com'));
  assert.ok(!emailValid('anna@.example.com'));
  assert.ok(!emailValid('anna@example.com.'));
  assert.ok(!emailValid('an na@example.com'));
  assert.equal(quietText({ from: '22:00', to: '08:00' }), 'from 22:00 to 08:00');
  assert.equal(quietText(null), 'none');
});

const current = { language: 'ru', sms: true, email: true, push: true, quiet_hours: null, email_address: null };
const settingsForm = (change = {}) => ({
  language: 'ru',
  sms: true,
  email: true,
  push: true,
  quiet: false,
  'quiet_hours.from': '22:00',
  'quiet_hours.to': '08:00',
  email_address: '',
  ...change,
});

test('the settings form sends only what changed', () => {
  assert.deepEqual(settingsRequest(settingsForm(), current), { body: {}, errors: [] });
  assert.deepEqual(settingsRequest(settingsForm({ quiet: true, 'quiet_hours.to': '7:30' }), current).body, {
    quiet_hours: { from: '22:00', to: '07:30' },
  });
  assert.deepEqual(
    settingsRequest(settingsForm({ language: 'en', sms: false, email_address: 'anna@example.com' }), current).body,
    { language: 'en', sms: false, email_address: 'anna@example.com' },
  );
  // Quiet hours switched off are cleared; an emptied address is removed.
  const saved = { ...current, quiet_hours: { from: '22:00', to: '08:00' }, email_address: 'anna@example.com' };
  assert.deepEqual(settingsRequest(settingsForm(), saved).body, { quiet_hours: null, email_address: null });
  assert.deepEqual(settingsRequest(settingsForm({ quiet: true, email_address: 'anna@example.com' }), saved).body, {});
});

test('the settings form refuses what the server would', () => {
  const same = settingsRequest(
    settingsForm({ quiet: true, 'quiet_hours.from': '08:00', 'quiet_hours.to': '08:00' }),
    current,
  );
  assert.deepEqual(same.errors, [{ field: 'quiet_hours.to', message: 'Quiet hours start and end at different times' }]);
  const bad = settingsRequest(settingsForm({ quiet: true, 'quiet_hours.from': '', email_address: 'anna@' }), current);
  assert.deepEqual(
    bad.errors.map((e) => [e.field, e.message]),
    [
      ['quiet_hours.from', 'A time such as 22:00'],
      ['email_address', 'An e-mail address such as name@example.com'],
    ],
  );
  // Times are not checked while quiet hours are off.
  assert.deepEqual(settingsRequest(settingsForm({ 'quiet_hours.from': '' }), current).errors, []);
});
