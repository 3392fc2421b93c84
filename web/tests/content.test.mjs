// Unit tests of the content pieces (components/content.js), in English, run with
// `node --test`: where an inbox message leads, a pushed message in the page's language,
// plain text as paragraphs and its first lines, a news item's status in words, an
// audience in words, times on the program's clock (datetime-local and back, across
// clock changes), the news form's request and the FAQ's order after a move. The Russian
// texts are in content-ru.test.mjs (a module reads its language once). The modules read
// the browser's language, so the few globals they touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  inboxLink,
  pushedItem,
  paragraphs,
  excerpt,
  newsStatus,
  newsStatusWord,
  newsStatusText,
  whenIn,
  audienceText,
  zonedInput,
  fromZonedInput,
  publishChange,
  newsRequest,
  faqMoves,
} = await import('../app/components/content.js');

const MSK = 'Europe/Moscow';
const at = (iso) => Date.parse(iso);

test('a message leads to the page about it', () => {
  assert.equal(inboxLink({ trigger: 'order_status', data: { order_id: '12', status: 'shipped' } }), '/orders');
  assert.equal(inboxLink({ trigger: 'task_decided', data: {} }), '/tasks');
  assert.equal(inboxLink({ trigger: 'new_task', data: {} }), '/tasks');
  assert.equal(inboxLink({ trigger: 'level_up', data: {} }), '/seller');
  assert.equal(inboxLink({ trigger: 'points_credited', data: {} }), '/seller');
  assert.equal(inboxLink({ trigger: 'points_expiring', data: {} }), '/seller');
  // Welcome messages say it all; a trigger this page does not know leads nowhere.
  assert.equal(inboxLink({ trigger: 'registration_approved', data: {} }), null);
  assert.equal(inboxLink({ trigger: 'something_new' }), null);
  assert.equal(inboxLink(null), null);
});

test('a pushed message takes the texts of the page’s language', () => {
  const pushed = {
    id: 7,
    trigger: 'order_status',
    title: 'Заказ №12: отправлен',
    body: 'Статус вашего заказа №12 изменился: отправлен.',
    data: { order_id: '12', status: 'shipped' },
    read: false,
    created_at: 1,
    texts: {
      ru: { title: 'Заказ №12: отправлен', body: 'Статус вашего заказа №12 изменился: отправлен.' },
      en: { title: 'Order 12: shipped', body: 'Your order 12 is now shipped.' },
    },
  };
  const item = pushedItem(pushed, 'en');
  assert.equal(item.title, 'Order 12: shipped');
  assert.equal(item.body, 'Your order 12 is now shipped.');
  assert.equal(item.id, 7);
  assert.equal('texts' in item, false);
  assert.equal(pushedItem(pushed, 'ru').title, 'Заказ №12: отправлен');
  // A language without texts falls back to Russian, then to the texts as pushed.
  assert.equal(pushedItem(pushed, 'de').title, 'Заказ №12: отправлен');
  assert.equal(pushedItem({ ...pushed, texts: undefined }, 'en').title, 'Заказ №12: отправлен');
});

test('plain text splits into paragraphs at blank lines', () => {
  assert.deepEqual(paragraphs('One.\n\nTwo.'), ['One.', 'Two.']);
  assert.deepEqual(paragraphs('A line\nand the next, one paragraph.'), ['A line\nand the next, one paragraph.']);
  assert.deepEqual(paragraphs('  First \r\n \r\n\r\n\n Second\t\n\t\nThird  '), ['First', 'Second', 'Third']);
  assert.deepEqual(paragraphs('<b>not markup</b>'), ['<b>not markup</b>']);
  assert.deepEqual(paragraphs(''), []);
  assert.deepEqual(paragraphs('\n \n'), []);
  assert.deepEqual(paragraphs(null), []);
});

test('an excerpt is the first paragraph, cut at a word', () => {
  assert.equal(excerpt('Short.\n\nMore below.'), 'Short.');
  assert.equal(excerpt('Line one\nline two'), 'Line one line two');
  assert.equal(excerpt('The quick brown fox jumps over the lazy dog', 20), 'The quick brown fox…');
  assert.equal(excerpt('Supercalifragilistic', 10), 'Supercalif…');
  assert.equal(excerpt(''), '');
});

test('a news item’s status in words', () => {
  const now = at('2026-12-03T10:00:00Z');
  const published = { publish_at: at('2026-12-01T07:00:00Z'), archived: false };
  const scheduled = { publish_at: at('2026-12-05T06:00:00Z'), archived: false };
  const archived = { publish_at: at('2026-11-01T09:30:00Z'), archived: true };
  assert.equal(newsStatus(published, now), 'published');
  assert.equal(newsStatus(scheduled, now), 'scheduled');
  assert.equal(newsStatus(archived, now), 'archived');
  // Archived wins over a time still to come.
  assert.equal(newsStatus({ ...scheduled, archived: true }, now), 'archived');
  assert.equal(newsStatusWord('published'), 'Published');
  assert.equal(newsStatusWord('scheduled'), 'Scheduled');
  assert.equal(newsStatusWord('archived'), 'Archived');
  assert.equal(newsStatusWord('draft'), 'draft');
  // Times on the program's clock (Moscow: UTC+3).
  const opts = { now, timeZone: MSK, lang: 'en-GB' };
  assert.equal(newsStatusText(published, opts), 'since 01/12/2026, 10:00');
  assert.equal(newsStatusText(scheduled, opts), 'shows on 05/12/2026, 09:00');
  assert.equal(newsStatusText(archived, opts), 'was published 01/11/2026, 12:30');
  assert.equal(whenIn(at('2026-12-05T06:00:00Z'), 'Asia/Novosibirsk', 'en-GB'), '05/12/2026, 13:00');
  assert.equal(whenIn(null, MSK), '—');
});

test('an audience in words', () => {
  const names = {
    regions: new Map([
      [1, 'Moscow'],
      [2, 'Kazan'],
    ]),
    levels: new Map([
      [0, 'Bronze'],
      [1, 'Silver'],
    ]),
  };
  assert.equal(audienceText({ regions: [], stores: [], partners: [], levels: [] }, names), 'Everyone');
  assert.equal(audienceText(undefined), 'Everyone');
  assert.equal(audienceText({ regions: [1, 2], levels: [1] }, names), 'Regions: Moscow, Kazan · Levels: Silver');
  assert.equal(audienceText({ regions: [9] }, names), 'Regions: #9');
  assert.equal(audienceText({ stores: [4], partners: [1, 2] }, names), '1 store · 2 partners');
});

test('times on the program’s clock, to a datetime-local value and back', () => {
  const ms = at('2026-12-05T06:00:00Z');
  assert.equal(zonedInput(ms, MSK), '2026-12-05T09:00');
  assert.equal(fromZonedInput('2026-12-05T09:00', MSK), ms);
  assert.equal(zonedInput(ms, 'UTC'), '2026-12-05T06:00');
  assert.equal(fromZonedInput('2026-01-01T05:30', 'Asia/Kolkata'), at('2026-01-01T00:00:00Z'));
  // Summer and winter time: New York is UTC−4 in July, UTC−5 in January.
  assert.equal(fromZonedInput('2026-07-01T12:00', 'America/New_York'), at('2026-07-01T16:00:00Z'));
  assert.equal(fromZonedInput('2026-01-15T12:00', 'America/New_York'), at('2026-01-15T17:00:00Z'));
  // 02:30 on 8 March 2026 never happens there: it reads as the clock after the jump (03:30).
  assert.equal(fromZonedInput('2026-03-08T02:30', 'America/New_York'), at('2026-03-08T07:30:00Z'));
  // Every whole hour of a year round-trips in a zone with clock changes.
  for (let h = 0; h < 365 * 24; h += 7) {
    const moment = at('2026-01-01T00:00:00Z') + h * 3_600_000;
    const back = fromZonedInput(zonedInput(moment, 'Europe/Berlin'), 'Europe/Berlin');
    // The hour the clock repeats in October is read as its first pass.
    assert.ok(back === moment || back === moment - 3_600_000, `round trip of ${new Date(moment).toISOString()}`);
  }
  assert.equal(zonedInput(null, MSK), '');
  assert.equal(fromZonedInput('', MSK), null);
  assert.equal(fromZonedInput('2026-02-31T10:00', MSK), null);
  assert.equal(fromZonedInput('2026-13-01T10:00', MSK), null);
  assert.equal(fromZonedInput('tomorrow', MSK), null);
  assert.equal(fromZonedInput('2026-02-01T10:00', 'Nowhere/Atlantis'), null);
});

test('publish now or at a time', () => {
  const now = at('2026-12-03T10:00:00Z');
  const opts = { timeZone: MSK, now };
  // A new item: now sends nothing (the server publishes it at once), a time is sent.
  assert.deepEqual(publishChange({ when: 'now', at: '' }, opts), {});
  assert.deepEqual(publishChange({ when: 'at', at: '2026-12-05T09:00' }, opts), {
    publish_at: at('2026-12-05T06:00:00Z'),
  });
  assert.deepEqual(publishChange({ when: 'at', at: '' }, opts), { error: 'Enter the date and time to publish at.' });
  // A scheduled item: "now" publishes it now; the same time is no change; another is sent.
  const scheduled = { publish_at: at('2026-12-05T06:00:00Z') };
  assert.deepEqual(publishChange({ when: 'now' }, { ...opts, original: scheduled }), { publish_at: now });
  assert.deepEqual(publishChange({ when: 'at', at: '2026-12-05T09:00' }, { ...opts, original: scheduled }), {});
  assert.deepEqual(publishChange({ when: 'at', at: '2026-12-06T09:00' }, { ...opts, original: scheduled }), {
    publish_at: at('2026-12-06T06:00:00Z'),
  });
  // A published item stays as published.
  assert.deepEqual(publishChange({ when: 'now' }, { ...opts, original: { publish_at: now - 1000 } }), {});
});

test('the news form becomes the request', () => {
  const now = at('2026-12-03T10:00:00Z');
  const values = {
    title: '  New rewards ',
    body: 'Two new certificates.\n\nSee the showcase.',
    'audience.regions': ['2', '5'],
    'audience.levels': ['0'],
    when: 'now',
    at: '',
  };
  assert.deepEqual(newsRequest(values, { timeZone: MSK, now }), {
    body: {
      title: 'New rewards',
      body: 'Two new certificates.\n\nSee the showcase.',
      audience: { regions: [2, 5], stores: [], partners: [], levels: [0] },
    },
    errors: [],
  });
  const scheduled = newsRequest({ ...values, when: 'at', at: '2026-12-10T12:00' }, { timeZone: MSK, now });
  assert.equal(scheduled.body.publish_at, at('2026-12-10T09:00:00Z'));
  // A stored item keeps the stores and partners this form does not show.
  const original = {
    publish_at: now - 1000,
    audience: { regions: [2], stores: [17], partners: [3], levels: [] },
  };
  const change = newsRequest(
    { ...values, 'audience.regions': [], 'audience.levels': [] },
    { timeZone: MSK, now, original },
  );
  assert.deepEqual(change.body.audience, { regions: [], stores: [17], partners: [3], levels: [] });
  assert.equal('publish_at' in change.body, false);
  assert.deepEqual(
    newsRequest({ ...values, title: ' ', body: '', when: 'at', at: '' }, { timeZone: MSK, now }).errors.map(
      (e) => e.field,
    ),
    ['title', 'body', 'at'],
  );
});

test('moving an FAQ entry swaps positions, or numbers them when they tie', () => {
  const entries = [
    { id: 10, position: 1 },
    { id: 11, position: 2 },
    { id: 12, position: 5 },
  ];
  assert.deepEqual(faqMoves(entries, 1, -1), [
    { id: 11, position: 1 },
    { id: 10, position: 2 },
  ]);
  assert.deepEqual(faqMoves(entries, 1, 1), [
    { id: 11, position: 5 },
    { id: 12, position: 2 },
  ]);
  assert.deepEqual(faqMoves(entries, 0, -1), []);
  assert.deepEqual(faqMoves(entries, 2, 1), []);
  assert.deepEqual(faqMoves(entries, 5, -1), []);
  // Ties (entries ordered by id within a position): the new order is numbered from 1.
  const tied = [
    { id: 1, position: 3 },
    { id: 2, position: 3 },
    { id: 3, position: 3 },
  ];
  assert.deepEqual(faqMoves(tied, 2, -1), [
    { id: 1, position: 1 },
    { id: 3, position: 2 },
  ]);
});
