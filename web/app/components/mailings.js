// Mailings to a segment, without the DOM (so the unit tests can run it): the segment
// and the whole request built from the composer's values (with the checks the server
// makes again), the server's field errors put under the composer's fields, a mailing's
// status and its moment in words, how far it got (the percent of its recipients
// written, each channel's figures), its audience and channels in words, the reach with
// its plural ("5 человек"), and how many SMS a text takes (SMS cost money).

import { t, tn } from '../i18n.js';
import { count, day } from '../format.js';
import { fromZonedInput, whenIn } from './content.js';
import { idList } from './task-admin.js';

/** The channels besides the inbox (which always gets a mailing), in the order shown. */
export const CHANNELS = ['sms', 'email', 'push'];
/** The roles a segment may pick. */
export const ROLES = ['seller', 'owner'];
/** The server's limits (`api/mailings.rs`). */
export const LIMITS = { title: 200, body: 2000, list: 1000 };
/** The statuses a mailing moves through; the first two are followed live. */
export const STATUSES = ['scheduled', 'sending', 'finished', 'cancelled'];

/** Whether a mailing is still under way (its progress is read again every second). */
export function isUnderWay(mailing) {
  return mailing?.status === 'scheduled' || mailing?.status === 'sending';
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date `YYYY-MM-DD` that exists (not 31 February). */
function isDay(text) {
  const match = DAY.exec(text);
  if (!match) return false;
  const [y, m, d] = match.slice(1).map(Number);
  const at = new Date(Date.UTC(y, m - 1, d));
  return at.getUTCFullYear() === y && at.getUTCMonth() === m - 1 && at.getUTCDate() === d;
}

/**
 * The segment from the composer's values (`audience.regions`, `audience.stores` as
 * typed, `audience.levels`, `audience.roles`, `audience.active_since`,
 * `audience.inactive_since`): `{ audience, errors }`, the errors under the composer's
 * field names. Empty lists narrow nothing; an empty date is null.
 */
export function mailingAudience(values) {
  const errors = [];
  const stores = idList(values['audience.stores']);
  if (stores === null) errors.push({ field: 'audience.stores', message: t('mailings.check.stores') });
  const date = (name) => {
    const text = String(values[`audience.${name}`] ?? '').trim();
    if (!text) return null;
    if (!isDay(text)) {
      errors.push({ field: `audience.${name}`, message: t('mailings.check.date') });
      return null;
    }
    return text;
  };
  const audience = {
    regions: [...new Set((values['audience.regions'] ?? []).map(Number))],
    stores: stores ?? [],
    levels: [...new Set((values['audience.levels'] ?? []).map(Number))],
    roles: ROLES.filter((role) => (values['audience.roles'] ?? []).includes(role)),
    active_since: date('active_since'),
    inactive_since: date('inactive_since'),
  };
  if (audience.stores.length > LIMITS.list)
    errors.push({ field: 'audience.stores', message: t('mailings.check.tooMany', { max: count(LIMITS.list) }) });
  // Active since A and inactive since I: movements from A, none from I on; nobody when I ≤ A.
  if (audience.active_since && audience.inactive_since && audience.inactive_since <= audience.active_since)
    errors.push({ field: 'audience.inactive_since', message: t('mailings.check.inactiveAfter') });
  return { audience, errors };
}

/** A language's texts from the values, trimmed; null when both are empty. */
function textsOf(values, lang) {
  const title = String(values[`texts.${lang}.title`] ?? '').trim();
  const body = String(values[`texts.${lang}.body`] ?? '')
    .replace(/\r\n?/g, '\n')
    .trim();
  return title || body ? { title, body } : null;
}

/**
 * The `createMailing` request from the composer's values: the segment (above), the
 * texts (`texts.ru.title`, `texts.ru.body` required; English optional, but whole),
 * `channels` (a list of `sms`, `email`, `push`), `when` (`now` or `at`) and `at` (a
 * datetime-local value on the program's clock, `timeZone`). Returns `{ body, errors }`,
 * the errors under the composer's field names.
 */
export function mailingRequest(values, { timeZone, now = Date.now() } = {}) {
  const { audience, errors } = mailingAudience(values);
  const texts = {};
  for (const lang of ['ru', 'en']) {
    const own = textsOf(values, lang);
    if (lang === 'ru' || own) {
      const { title = '', body = '' } = own ?? {};
      const field = (name) => `texts.${lang}.${name}`;
      if (!title)
        errors.push({ field: field('title'), message: t(lang === 'ru' ? 'form.required' : 'mailings.check.enWhole') });
      else if (title.length > LIMITS.title)
        errors.push({ field: field('title'), message: t('mailings.check.long', { max: count(LIMITS.title) }) });
      if (!body)
        errors.push({ field: field('body'), message: t(lang === 'ru' ? 'form.required' : 'mailings.check.enWhole') });
      else if (body.length > LIMITS.body)
        errors.push({ field: field('body'), message: t('mailings.check.long', { max: count(LIMITS.body) }) });
      texts[lang] = { title, body };
    }
  }
  const chosen = values.channels ?? [];
  const body = { texts, channels: CHANNELS.filter((c) => chosen.includes(c)), audience };
  if (values.when === 'at') {
    const at = fromZonedInput(values.at, timeZone);
    if (at === null) errors.push({ field: 'at', message: t('mailings.check.at') });
    else if (at <= now) errors.push({ field: 'at', message: t('mailings.check.future') });
    else body.send_at = at;
  }
  return { body, errors };
}

/**
 * A server field error (`validation_failed`) → the composer's field: `texts` errors
 * name their language and part ("en.title: …"), the segment's go under the reach.
 */
export function mailingErrorField(error) {
  const field = error?.field ?? '';
  if (field === 'texts') {
    const named = /^(ru|en)\.(title|body)\b/.exec(error.message ?? '');
    return named ? `texts.${named[1]}.${named[2]}` : 'texts.ru.title';
  }
  if (field === 'send_at') return 'at';
  return field;
}

// Literal keys, so the dictionary test sees each of them.
const STATUS_WORDS = {
  scheduled: () => t('mailings.status.scheduled'),
  sending: () => t('mailings.status.sending'),
  finished: () => t('mailings.status.finished'),
  cancelled: () => t('mailings.status.cancelled'),
};

/** A status's word ("Sending"); an unknown one as it is. */
export function mailingStatusWord(status) {
  return STATUS_WORDS[status]?.() ?? String(status ?? '');
}

/** The moment a status is about: the send time, the start, the end. */
export function mailingMoment(mailing) {
  switch (mailing?.status) {
    case 'scheduled':
      return mailing.send_at;
    case 'sending':
      return mailing.started_at ?? mailing.send_at;
    default:
      return mailing?.finished_at ?? mailing?.started_at ?? mailing?.send_at ?? null;
  }
}

/**
 * The status's moment in words, on the program's clock (`timeZone`): "sends on …",
 * "started …", "finished …", "cancelled …".
 */
export function mailingStatusText(mailing, { timeZone, lang } = {}) {
  const when = whenIn(mailingMoment(mailing), timeZone, lang);
  switch (mailing?.status) {
    case 'scheduled':
      return t('mailings.statusText.scheduled', { when });
    case 'sending':
      return t('mailings.statusText.sending', { when });
    case 'cancelled':
      return t('mailings.statusText.cancelled', { when });
    default:
      return t('mailings.statusText.finished', { when });
  }
}

/**
 * How far a mailing got, a whole percent 0–100: inbox messages written of the people
 * it reached when it was made (more may be written when the segment grew since). A
 * finished mailing is done; one that reached nobody is done once finished.
 */
export function mailingPercent(mailing) {
  if (mailing?.status === 'finished') return 100;
  const written = Number(mailing?.written ?? 0);
  const recipients = Number(mailing?.recipients ?? 0);
  if (!(recipients > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((written * 100) / recipients)));
}

/**
 * Each chosen channel's figures (`delivery` of `getMailing`): handed to the channel
 * (`queued`), delivered, failed, and still waiting (quiet hours, retries).
 */
export function channelFigures(mailing) {
  return CHANNELS.filter((c) => (mailing?.channels ?? []).includes(c)).map((channel) => {
    const f = mailing?.delivery?.[channel] ?? {};
    const queued = Number(f.queued ?? 0);
    const delivered = Number(f.delivered ?? 0);
    const failed = Number(f.failed ?? 0);
    return { channel, queued, delivered, failed, waiting: Math.max(0, queued - delivered - failed) };
  });
}

const CHANNEL_WORDS = {
  inbox: () => t('mailings.channel.inbox'),
  sms: () => t('mailings.channel.sms'),
  email: () => t('mailings.channel.email'),
  push: () => t('mailings.channel.push'),
};

/** A channel's name. */
export function channelWord(channel) {
  return CHANNEL_WORDS[channel]?.() ?? String(channel);
}

/** The channels in words, the inbox first: "Inbox, SMS, push". */
export function channelsText(channels = []) {
  return ['inbox', ...CHANNELS.filter((c) => channels.includes(c))].map(channelWord).join(', ');
}

const ROLE_WORDS = {
  seller: () => t('mailings.role.seller'),
  owner: () => t('mailings.role.owner'),
};

/** A role's name in a segment ("Sellers", "Store owners"). */
export function mailingRoleWord(role) {
  return ROLE_WORDS[role]?.() ?? String(role);
}

/**
 * A segment in words: "All participants", or its filters ("Regions: Moscow · Store
 * owners · Active since 1 November"). `names`: `{ regions: Map(id → name), levels:
 * Map(index → name) }`, an unnamed one as #id.
 */
export function mailingAudienceText(audience, names = {}, { today } = {}) {
  const a = audience ?? {};
  const named = (ids, map) => ids.map((id) => map?.get(id) ?? map?.get(String(id)) ?? `#${id}`).join(', ');
  const dayOpts = today ? { today } : undefined;
  const parts = [];
  if (a.regions?.length) parts.push(t('mailings.audience.regions', { list: named(a.regions, names.regions) }));
  if (a.stores?.length) parts.push(t('mailings.audience.stores', { list: a.stores.join(', ') }));
  if (a.levels?.length) parts.push(t('mailings.audience.levels', { list: named(a.levels, names.levels) }));
  if (a.roles?.length) parts.push(a.roles.map(mailingRoleWord).join(', '));
  if (a.active_since) parts.push(t('mailings.audience.activeSince', { day: day(a.active_since, dayOpts) }));
  if (a.inactive_since) parts.push(t('mailings.audience.inactiveSince', { day: day(a.inactive_since, dayOpts) }));
  return parts.length ? parts.join(' · ') : t('mailings.audience.everyone');
}

/** People with their plural form: "1 person", "2 человека", "5 человек". */
export function peopleText(n) {
  return tn('mailings.people', n, { n: count(n) });
}

/** The texts a reader of `lang` gets: their own, or the Russian ones. */
export function textsFor(texts, lang) {
  return texts?.[lang] ?? texts?.ru ?? { title: '', body: '' };
}

/** What an SMS of a mailing says (as the server writes it: "Title. Body"). */
export function smsText(texts) {
  const title = String(texts?.title ?? '').trim();
  const body = String(texts?.body ?? '').trim();
  return title && body ? `${title}. ${body}` : title || body;
}

// The GSM 7-bit alphabet: a text of these goes 160 to an SMS (153 when split), the
// extension's characters taking two; any other character makes it UCS-2 (70, 67).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('^{}\\[~]|€\f');

/**
 * How many SMS a text takes: `{ chars, parts, unicode }` (`chars` in the encoding's
 * units). Each part is paid for.
 */
export function smsParts(text) {
  const value = String(text ?? '');
  const chars = [...value];
  const gsm = chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENSION.has(c));
  const units = gsm ? chars.reduce((n, c) => n + (GSM_EXTENSION.has(c) ? 2 : 1), 0) : value.length;
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const parts = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
  return { chars: units, parts, unicode: !gsm };
}

/** The SMS per person a mailing's texts take: the longer language's. */
export function smsPerPerson(texts) {
  return Math.max(0, ...Object.values(texts ?? {}).map((x) => smsParts(smsText(x)).parts));
}
