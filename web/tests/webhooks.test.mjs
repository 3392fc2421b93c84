// Unit tests of the webhook pieces (components/webhooks.js), in English, run with
// `node --test`: the six events in words, a subscription's events in the server's
// order, a secret masked, a delivery's status and tries in words, and the subscription
// form's checks and request (only what changed is sent on a change). The Russian texts
// are in messaging-ru.test.mjs. The module reads the browser's language, so the few
// globals it touches are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  EVENTS,
  eventWord,
  eventHint,
  eventsText,
  deliveryStatusWord,
  maskSecret,
  attemptText,
  triesText,
  lastResult,
  webhookRequest,
} = await import('../app/components/webhooks.js');

test('the six events the server sends, each in words', () => {
  assert.deepEqual(EVENTS, [
    'points.credited',
    'order.placed',
    'order.status_changed',
    'code.registered',
    'participant.approved',
    'task.decided',
  ]);
  assert.equal(eventWord('points.credited'), 'Points credited');
  assert.equal(eventWord('order.placed'), 'An order is placed');
  assert.equal(eventWord('order.status_changed'), 'An order’s status changes');
  assert.equal(eventWord('code.registered'), 'A product code is registered');
  assert.equal(eventWord('participant.approved'), 'A participant is approved');
  assert.equal(eventWord('task.decided'), 'A task is decided');
  for (const event of EVENTS) assert.ok(eventHint(event).length > 10, `a hint for ${event}`);
  // One this page does not know yet shows as its name.
  assert.equal(eventWord('payout.paid'), 'payout.paid');
  assert.equal(eventHint('payout.paid'), '');
});

test('a subscription’s events read in the server’s order, unknown ones last, once each', () => {
  assert.deepEqual(eventsText(['task.decided', 'points.credited', 'payout.paid', 'points.credited']), [
    'Points credited',
    'A task is decided',
    'payout.paid',
  ]);
  assert.deepEqual(eventsText([]), []);
  assert.deepEqual(eventsText(undefined), []);
});

test('a secret is masked to its prefix and last four characters', () => {
  assert.equal(maskSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 'whsec_••••••••LaSw');
  assert.equal(maskSecret('whsec_short'), 'whsec_••••••••');
  assert.equal(maskSecret('abcdefghijklmnop'), '••••••••mnop');
  assert.equal(maskSecret(''), '••••••••');
  assert.ok(!maskSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').includes('MfKQ'));
});

test('a delivery’s status and tries in words', () => {
  assert.equal(deliveryStatusWord('pending'), 'Being tried');
  assert.equal(deliveryStatusWord('delivered'), 'Delivered');
  assert.equal(deliveryStatusWord('failed'), 'Failed');
  assert.equal(deliveryStatusWord('other'), 'other');
  assert.equal(triesText(0), '0 tries');
  assert.equal(triesText(1), '1 try');
  assert.equal(triesText(3), '3 tries');
  assert.equal(attemptText({ status_code: 200, error: null, duration_ms: 85, created_at: 1 }), 'Answered 200 in 85 ms');
  assert.equal(
    attemptText({ status_code: 500, error: null, duration_ms: 1234, created_at: 1 }),
    'Answered 500 (not accepted) in 1\u202f234 ms',
  );
  assert.equal(
    attemptText({ status_code: null, error: 'connection refused', duration_ms: 3, created_at: 1 }),
    'No answer: connection refused (3 ms)',
  );
  assert.equal(attemptText({ status_code: null, error: null, duration_ms: 0 }), 'No answer: unknown error (0 ms)');
  assert.equal(lastResult({ attempts: [] }), '');
  assert.equal(lastResult({ attempts: [{ status_code: 200 }, { status_code: 503 }] }), 'HTTP 503');
  assert.equal(lastResult({ attempts: [{ status_code: null, error: 'timeout' }] }), 'no answer');
});

test('a new subscription: URL and at least one event, the events in the server’s order', () => {
  const ok = webhookRequest({
    url: ' https://example.com/hook ',
    events: ['task.decided', 'order.placed'],
    description: ' CRM ',
  });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.body, {
    url: 'https://example.com/hook',
    events: ['order.placed', 'task.decided'],
    description: 'CRM',
  });

  const bad = webhookRequest({ url: 'example.com/hook', events: [], description: 'x'.repeat(501) });
  assert.deepEqual(
    bad.errors.map((e) => e.field),
    ['url', 'events', 'description'],
  );
  assert.equal(bad.errors[0].message, 'An address such as https://example.com/hook');
  assert.equal(bad.errors[1].message, 'Choose at least one event');
  assert.equal(webhookRequest({ url: '', events: ['order.placed'] }).errors[0].message, 'Required');
  // The server decides about private addresses: the form sends them.
  assert.deepEqual(webhookRequest({ url: 'http://127.0.0.1:9/hook', events: ['order.placed'] }).errors, []);
});

test('a change sends only what differs', () => {
  const original = {
    id: 3,
    url: 'https://example.com/hook',
    events: ['order.placed', 'task.decided'],
    description: 'CRM',
    active: true,
  };
  const same = { url: original.url, events: ['task.decided', 'order.placed'], description: 'CRM', active: true };
  assert.deepEqual(webhookRequest(same, original), { body: {}, errors: [] });
  assert.deepEqual(webhookRequest({ ...same, active: false }, original).body, { active: false });
  assert.deepEqual(webhookRequest({ ...same, events: ['order.placed'] }, original).body, { events: ['order.placed'] });
  assert.deepEqual(webhookRequest({ ...same, url: 'https://example.org/h', description: '' }, original).body, {
    url: 'https://example.org/h',
    description: '',
  });
});
