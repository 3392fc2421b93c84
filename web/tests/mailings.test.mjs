// Unit tests of the mailing pieces (components/mailings.js), in English, run with
// `node --test`: the segment and the `createMailing` request built from the composer's
// values (with their checks), the server's field errors under the composer's fields,
// status words and times on the program's clock, the progress percent, each channel's
// figures, the channels and the audience in words, the reach's plural, and how many
// SMS a text takes. The Russian texts are in mailings-ru.test.mjs (a module reads its
// language once). The modules read the browser's language, so the few globals they
// touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  CHANNELS,
  isUnderWay,
  mailingAudience,
  mailingRequest,
  mailingErrorField,
  mailingStatusWord,
  mailingStatusText,
  mailingMoment,
  mailingPercent,
  channelFigures,
  channelsText,
  mailingAudienceText,
  peopleText,
  textsFor,
  smsText,
  smsParts,
  smsPerPerson,
} = await import('../app/components/mailings.js');

const MSK = 'Europe/Moscow';
const at = (iso) => Date.parse(iso);

/** The composer's values as the form reads them, with `changes` over an empty composer. */
function values(changes = {}) {
  return {
    'audience.regions': [],
    'audience.levels': [],
    'audience.roles': [],
    'audience.stores': '',
    'audience.active_since': '',
    'audience.inactive_since': '',
    audience: null,
    'texts.ru.title': '',
    'texts.ru.body': '',
    'texts.en.title': '',
    'texts.en.body': '',
    channels: [],
    when: 'now',
    at: '',
    ...changes,
  };
}

const EVERYONE = { regions: [], stores: [], levels: [], roles: [], active_since: null, inactive_since: null };

test('the segment from the composer', () => {
  assert.deepEqual(mailingAudience(values()), { audience: EVERYONE, errors: [] });
  // Checkbox values come as the ids they were given (numbers or strings); duplicates go.
  const picked = mailingAudience(
    values({
      'audience.regions': [2, '5', 2],
      'audience.levels': ['0', 2],
      'audience.roles': ['owner', 'seller'],
      'audience.stores': ' 3, 5;12 5 ',
      'audience.active_since': '2026-11-01',
      'audience.inactive_since': '2026-11-20',
    }),
  );
  assert.deepEqual(picked, {
    audience: {
      regions: [2, 5],
      stores: [3, 5, 12],
      levels: [0, 2],
      roles: ['seller', 'owner'],
      active_since: '2026-11-01',
      inactive_since: '2026-11-20',
    },
    errors: [],
  });
  const fields = (changes) => mailingAudience(values(changes)).errors.map((e) => e.field);
  assert.deepEqual(fields({ 'audience.stores': '3, five' }), ['audience.stores']);
  assert.deepEqual(fields({ 'audience.stores': '0' }), ['audience.stores']);
  assert.deepEqual(fields({ 'audience.active_since': '2026-02-31' }), ['audience.active_since']);
  assert.deepEqual(fields({ 'audience.inactive_since': '1 Nov' }), ['audience.inactive_since']);
  // Inactive since a day before (or on) the day they were active since: nobody.
  assert.deepEqual(fields({ 'audience.active_since': '2026-11-10', 'audience.inactive_since': '2026-11-10' }), [
    'audience.inactive_since',
  ]);
  const many = Array.from({ length: 1001 }, (_, i) => i + 1).join(',');
  assert.deepEqual(mailingAudience(values({ 'audience.stores': many })).errors, [
    { field: 'audience.stores', message: 'At most 1\u202f000 stores' },
  ]);
  assert.equal(
    mailingAudience(values({ 'audience.stores': 'x' })).errors[0].message,
    'Store numbers separated by commas, such as 3, 5',
  );
});

test('the composer becomes the createMailing request', () => {
  const now = at('2026-12-03T10:00:00Z');
  const typed = values({
    'audience.roles': ['owner'],
    'texts.ru.title': '  Новые награды ',
    'texts.ru.body': 'Два новых сертификата.\r\n\r\nЗагляните в витрину. ',
    channels: ['push', 'sms'],
  });
  assert.deepEqual(mailingRequest(typed, { timeZone: MSK, now }), {
    body: {
      texts: { ru: { title: 'Новые награды', body: 'Два новых сертификата.\n\nЗагляните в витрину.' } },
      // The server's order, whatever order they were ticked in; the inbox is never sent.
      channels: ['sms', 'push'],
      audience: { ...EVERYONE, roles: ['owner'] },
    },
    errors: [],
  });
  // English, when given, goes along whole.
  const both = mailingRequest(values({ ...typed, 'texts.en.title': 'New rewards', 'texts.en.body': 'Two of them.' }), {
    timeZone: MSK,
    now,
  });
  assert.deepEqual(both.body.texts.en, { title: 'New rewards', body: 'Two of them.' });
  assert.deepEqual(both.errors, []);
  const half = mailingRequest(values({ ...typed, 'texts.en.title': 'New rewards' }), { timeZone: MSK, now });
  assert.deepEqual(half.errors, [
    { field: 'texts.en.body', message: 'The English text needs both a title and a text, or neither' },
  ]);
  // At a time on the program's clock (Moscow: UTC+3); none in the past.
  const later = mailingRequest(values({ ...typed, when: 'at', at: '2026-12-05T09:00' }), { timeZone: MSK, now });
  assert.equal(later.body.send_at, at('2026-12-05T06:00:00Z'));
  assert.deepEqual(later.errors, []);
  assert.equal('send_at' in mailingRequest(typed, { timeZone: MSK, now }).body, false);
  assert.deepEqual(
    mailingRequest(values({ ...typed, when: 'at', at: '2026-12-03T12:00' }), { timeZone: MSK, now }).errors,
    [{ field: 'at', message: 'Pick a time still to come, or send now.' }],
  );
  assert.deepEqual(mailingRequest(values({ ...typed, when: 'at', at: '' }), { timeZone: MSK, now }).errors, [
    { field: 'at', message: 'Enter the date and time to send at.' },
  ]);
  // The Russian text is required; lengths as the server counts them.
  assert.deepEqual(
    mailingRequest(values(), { timeZone: MSK, now }).errors.map((e) => e.field),
    ['texts.ru.title', 'texts.ru.body'],
  );
  const long = mailingRequest(values({ ...typed, 'texts.ru.title': 'x'.repeat(201) }), { timeZone: MSK, now });
  assert.deepEqual(long.errors, [{ field: 'texts.ru.title', message: 'At most 200 characters' }]);
  // The segment's errors come along.
  assert.deepEqual(
    mailingRequest(values({ ...typed, 'audience.stores': 'abc' }), { timeZone: MSK, now }).errors.map((e) => e.field),
    ['audience.stores'],
  );
  assert.deepEqual(CHANNELS, ['sms', 'email', 'push']);
});

test('the server’s field errors go under the composer’s fields', () => {
  assert.equal(mailingErrorField({ field: 'texts', message: 'a Russian text (ru) is required' }), 'texts.ru.title');
  assert.equal(mailingErrorField({ field: 'texts', message: 'en.body: must not be empty' }), 'texts.en.body');
  assert.equal(mailingErrorField({ field: 'texts', message: 'ru.title: too long' }), 'texts.ru.title');
  assert.equal(mailingErrorField({ field: 'channels', message: 'unknown channel "fax"' }), 'channels');
  assert.equal(mailingErrorField({ field: 'audience', message: 'at most 1000 entries per list' }), 'audience');
  assert.equal(mailingErrorField({ field: 'send_at', message: 'bad' }), 'at');
});

test('a mailing’s status in words, on the program’s clock', () => {
  assert.equal(mailingStatusWord('scheduled'), 'Scheduled');
  assert.equal(mailingStatusWord('sending'), 'Sending');
  assert.equal(mailingStatusWord('finished'), 'Sent');
  assert.equal(mailingStatusWord('cancelled'), 'Cancelled');
  assert.equal(mailingStatusWord('paused'), 'paused');
  const base = {
    send_at: at('2026-12-05T06:00:00Z'),
    started_at: at('2026-12-05T06:00:02Z'),
    finished_at: at('2026-12-05T06:10:00Z'),
  };
  const opts = { timeZone: MSK, lang: 'en-GB' };
  const scheduled = { ...base, status: 'scheduled', started_at: null, finished_at: null };
  assert.equal(mailingStatusText(scheduled, opts), 'sends on 05/12/2026, 09:00');
  assert.equal(mailingStatusText({ ...base, status: 'sending', finished_at: null }, opts), 'started 05/12/2026, 09:00');
  assert.equal(mailingStatusText({ ...base, status: 'finished' }, opts), 'finished 05/12/2026, 09:10');
  assert.equal(
    mailingStatusText({ ...base, status: 'cancelled', started_at: null }, opts),
    'cancelled 05/12/2026, 09:10',
  );
  assert.equal(mailingMoment({ status: 'sending', send_at: 5, started_at: null }), 5);
  assert.equal(isUnderWay(scheduled), true);
  assert.equal(isUnderWay({ status: 'sending' }), true);
  assert.equal(isUnderWay({ status: 'finished' }), false);
  assert.equal(isUnderWay({ status: 'cancelled' }), false);
  assert.equal(isUnderWay(null), false);
});

test('the progress percent: written of recipients', () => {
  assert.equal(mailingPercent({ status: 'scheduled', written: 0, recipients: 0 }), 0);
  assert.equal(mailingPercent({ status: 'sending', written: 1, recipients: 2 }), 50);
  assert.equal(mailingPercent({ status: 'sending', written: 2, recipients: 3 }), 66);
  assert.equal(mailingPercent({ status: 'cancelled', written: 1, recipients: 3 }), 33);
  // The segment grew since it was counted: never past 100.
  assert.equal(mailingPercent({ status: 'sending', written: 7, recipients: 5 }), 100);
  // Finished is done, even when it reached nobody or fewer than counted.
  assert.equal(mailingPercent({ status: 'finished', written: 0, recipients: 0 }), 100);
  assert.equal(mailingPercent({ status: 'finished', written: 4, recipients: 5 }), 100);
  assert.equal(mailingPercent(undefined), 0);
});

test('each channel’s figures, with those still waiting', () => {
  const mailing = {
    channels: ['push', 'sms'],
    delivery: { sms: { queued: 10, delivered: 6, failed: 1 }, push: { queued: 3, delivered: 3, failed: 0 } },
  };
  assert.deepEqual(channelFigures(mailing), [
    { channel: 'sms', queued: 10, delivered: 6, failed: 1, waiting: 3 },
    { channel: 'push', queued: 3, delivered: 3, failed: 0, waiting: 0 },
  ]);
  // From the list (no delivery yet): zeros.
  assert.deepEqual(channelFigures({ channels: ['email'] }), [
    { channel: 'email', queued: 0, delivered: 0, failed: 0, waiting: 0 },
  ]);
  assert.deepEqual(channelFigures({ channels: [] }), []);
});

test('channels, audience and reach in words', () => {
  assert.equal(channelsText([]), 'Inbox');
  assert.equal(channelsText(['push', 'sms']), 'Inbox, SMS, Push');
  assert.equal(channelsText(['email']), 'Inbox, E-mail');
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
  const today = new Date('2026-12-03T10:00:00Z');
  assert.equal(mailingAudienceText(EVERYONE, names), 'All participants');
  assert.equal(mailingAudienceText(undefined), 'All participants');
  assert.equal(
    mailingAudienceText(
      {
        regions: [1, 9],
        stores: [3, 5],
        levels: [1],
        roles: ['owner'],
        active_since: '2026-11-01',
        inactive_since: '2026-11-20',
      },
      names,
      { today },
    ),
    'Regions: Moscow, #9 · Stores: 3, 5 · Levels: Silver · Store owners · Active since 1 November · Inactive since 20 November',
  );
  assert.equal(mailingAudienceText({ roles: ['seller', 'owner'] }), 'Sellers, Store owners');
  assert.equal(peopleText(1), '1 person');
  assert.equal(peopleText(2), '2 people');
  assert.equal(peopleText(0), '0 people');
  assert.equal(peopleText(12500), '12\u202f500 people');
});

test('the texts a reader gets, and how many SMS they take', () => {
  const texts = { ru: { title: 'Привет', body: 'Текст' }, en: { title: 'Hello', body: 'Text' } };
  assert.deepEqual(textsFor(texts, 'en'), { title: 'Hello', body: 'Text' });
  assert.deepEqual(textsFor({ ru: texts.ru }, 'en'), texts.ru);
  assert.deepEqual(textsFor(undefined, 'en'), { title: '', body: '' });
  assert.equal(smsText({ title: 'Hello', body: 'Points are in.' }), 'Hello. Points are in.');
  assert.equal(smsText({ title: 'Hello', body: '' }), 'Hello');
  // GSM 7-bit: 160 in one SMS, 153 a part when split; the euro sign counts twice.
  assert.deepEqual(smsParts(''), { chars: 0, parts: 0, unicode: false });
  assert.deepEqual(smsParts('a'.repeat(160)), { chars: 160, parts: 1, unicode: false });
  assert.deepEqual(smsParts('a'.repeat(161)), { chars: 161, parts: 2, unicode: false });
  assert.deepEqual(smsParts('a'.repeat(306)), { chars: 306, parts: 2, unicode: false });
  assert.deepEqual(smsParts('a'.repeat(307)), { chars: 307, parts: 3, unicode: false });
  assert.deepEqual(smsParts('€'.repeat(80)), { chars: 160, parts: 1, unicode: false });
  // Cyrillic is UCS-2: 70 in one SMS, 67 a part.
  assert.deepEqual(smsParts('я'.repeat(70)), { chars: 70, parts: 1, unicode: true });
  assert.deepEqual(smsParts('я'.repeat(71)), { chars: 71, parts: 2, unicode: true });
  assert.deepEqual(smsParts('я'.repeat(134)), { chars: 134, parts: 2, unicode: true });
  assert.deepEqual(smsParts('я'.repeat(135)), { chars: 135, parts: 3, unicode: true });
  // Per person: the longer language's.
  assert.equal(smsPerPerson({ ru: { title: 'Т', body: 'я'.repeat(80) }, en: { title: 'T', body: 'x' } }), 2);
  assert.equal(smsPerPerson({}), 0);
});
