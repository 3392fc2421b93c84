// What the program tells its people, shared by the participant's pages (inbox, news,
// rules, FAQ), the header's bell and the staff's content page: where a message leads,
// plain text as paragraphs (never markup), a news item's status in words, its audience
// in words, publish times in the program's time zone, the news form's request, and the
// FAQ's order after a move. Everything but `prose` is pure, for the unit tests.

import { h } from '../dom.js';
import { t, tn, locale } from '../i18n.js';
import { count } from '../format.js';

/** The inbox's triggers and the page each leads to (none: the message says it all). */
const LINKS = {
  order_status: '/orders',
  task_decided: '/tasks',
  points_credited: '/seller',
  points_expiring: '/seller',
  level_up: '/seller',
  new_task: '/tasks',
  mailing: null,
  registration_approved: null,
};

/** Where a message (`{trigger, data}`) leads, or null. */
export function inboxLink(item) {
  return LINKS[item?.trigger] ?? null;
}

/**
 * A live `notification` (`data` of the event) as an inbox item in `lang`: its texts in
 * that language (`texts`), else as pushed.
 */
export function pushedItem(data, lang) {
  const { texts, ...item } = data ?? {};
  const own = texts?.[lang] ?? texts?.ru;
  return own ? { ...item, title: own.title, body: own.body } : item;
}

/**
 * Plain text → its paragraphs: separated by blank lines (a line of spaces is blank too),
 * each trimmed; a single line break stays inside its paragraph.
 */
export function paragraphs(text) {
  return String(text ?? '')
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n\s*/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The first paragraph, cut at a word to at most `max` characters (with "…"). */
export function excerpt(text, max = 180) {
  const first = (paragraphs(text)[0] ?? '').replace(/\s+/g, ' ');
  if (first.length <= max) return first;
  const cut = first.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, '')}…`;
}

/** Text as paragraphs, in text nodes only. */
export function prose(text, props = {}) {
  return h(
    'div',
    { class: 'prose', ...props },
    paragraphs(text).map((p) => h('p', null, p)),
  );
}

/** A news item's status: `archived`, `scheduled` (shows later) or `published`. */
export function newsStatus(news, now = Date.now()) {
  if (news.archived) return 'archived';
  return news.publish_at > now ? 'scheduled' : 'published';
}

/** A moment (epoch ms) as date and time in `timeZone` (the browser's when unknown). */
export function whenIn(ms, timeZone, lang = locale) {
  if (!ms && ms !== 0) return '—';
  const options = { dateStyle: 'short', timeStyle: 'short' };
  try {
    return new Intl.DateTimeFormat(lang, { ...options, timeZone: timeZone || undefined }).format(new Date(ms));
  } catch {
    return new Intl.DateTimeFormat(lang, options).format(new Date(ms));
  }
}

// Literal keys, so the dictionary test sees each of them.
const STATUS_WORDS = {
  published: () => t('content.status.published'),
  scheduled: () => t('content.status.scheduled'),
  archived: () => t('content.status.archived'),
};

/** The status's word ("Scheduled"). */
export function newsStatusWord(status) {
  return STATUS_WORDS[status]?.() ?? status;
}

/**
 * The status in words with its time: "Published 12/3/26, 10:00 AM", "Scheduled for …",
 * "Archived (was published …)". `timeZone`: the program's; `lang`: the formatter's.
 */
export function newsStatusText(news, { now = Date.now(), timeZone, lang } = {}) {
  const at = whenIn(news.publish_at, timeZone, lang);
  switch (newsStatus(news, now)) {
    case 'archived':
      return t('content.statusText.archived', { when: at });
    case 'scheduled':
      return t('content.statusText.scheduled', { when: at });
    default:
      return t('content.statusText.published', { when: at });
  }
}

/**
 * An audience in words: "Everyone", or its parts ("Regions: Moscow · Levels: Silver");
 * `names`: `{ regions: Map(id → name), levels: Map(index → name) }`, an unnamed one as #id.
 */
export function audienceText(audience, names = {}) {
  const a = audience ?? {};
  const named = (ids, map) => ids.map((id) => map?.get(id) ?? `#${id}`).join(', ');
  const parts = [];
  if (a.regions?.length) parts.push(t('content.audience.regions', { list: named(a.regions, names.regions) }));
  if (a.levels?.length) parts.push(t('content.audience.levels', { list: named(a.levels, names.levels) }));
  if (a.stores?.length) parts.push(tn('content.audience.stores', a.stores.length, { n: count(a.stores.length) }));
  if (a.partners?.length)
    parts.push(tn('content.audience.partners', a.partners.length, { n: count(a.partners.length) }));
  return parts.length ? parts.join(' · ') : t('content.audience.everyone');
}

/** The wall-clock parts of a moment in a time zone. */
function partsIn(ms, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const part = (type) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: part('year'),
    month: part('month'),
    day: part('day'),
    hour: part('hour') % 24,
    minute: part('minute'),
    second: part('second'),
  };
}

/** How far a time zone's clock is ahead of UTC at a moment, in ms. */
function offsetAt(ms, timeZone) {
  const p = partsIn(ms, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** A moment → the value of an <input type=datetime-local> on `timeZone`'s clock. */
export function zonedInput(ms, timeZone) {
  if (ms === null || ms === undefined || ms === '') return '';
  const p = partsIn(ms, timeZone);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/**
 * The value of an <input type=datetime-local> read on `timeZone`'s clock → the moment
 * (epoch ms), or null when empty or unreadable. A time skipped by a clock change reads
 * as the moment after the jump.
 */
export function fromZonedInput(value, timeZone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(value ?? '').trim());
  if (!match) return null;
  const [y, mo, d, hh, mi, ss] = match.slice(1).map((x) => Number(x ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, hh, mi, ss);
  if (new Date(wall).getUTCDate() !== d) return null; // 31 February
  try {
    const first = wall - offsetAt(wall, timeZone);
    const second = wall - offsetAt(first, timeZone);
    if (second === first || zonedInput(second, timeZone) === zonedInput(wall, 'UTC')) return second;
    // A time the clock skipped: read on the clock as it is after the change.
    return Math.max(first, second);
  } catch {
    return null; // an unknown time zone
  }
}

/**
 * The publish time a news form asks for: `when` is `now` or `at` (then `at` is the
 * datetime-local text on the program's clock). For a new item "now" sends nothing (the
 * server publishes it at once); for a stored one (`original`) "now" publishes a
 * scheduled item now and leaves a published one as it is, and a time is sent when it
 * differs from the stored one. Returns `{ publish_at? , error? }`.
 */
export function publishChange({ when, at }, { timeZone, original = null, now = Date.now() } = {}) {
  if (when === 'at') {
    const ms = fromZonedInput(at, timeZone);
    if (ms === null) return { error: t('content.publishAtNeeded') };
    if (original && zonedInput(original.publish_at, timeZone) === String(at).trim()) return {};
    return { publish_at: ms };
  }
  if (original && original.publish_at > now) return { publish_at: now };
  return {};
}

/**
 * The request of the news form: `values` as the form reads them (`title`, `body`,
 * `audience.regions`, `audience.levels`, `when`, `at`). Stores and partners are not
 * edited here, so a stored item keeps its own. Returns `{ body, errors }`, the errors
 * in the form's field names.
 */
export function newsRequest(values, { timeZone, original = null, now = Date.now() } = {}) {
  const errors = [];
  const title = String(values.title ?? '').trim();
  const text = String(values.body ?? '').trim();
  if (!title) errors.push({ field: 'title', message: t('form.required') });
  if (!text) errors.push({ field: 'body', message: t('form.required') });
  const publish = publishChange({ when: values.when, at: values.at }, { timeZone, original, now });
  if (publish.error) errors.push({ field: 'at', message: publish.error });
  const body = {
    title,
    body: text,
    audience: {
      regions: (values['audience.regions'] ?? []).map(Number),
      stores: [...(original?.audience?.stores ?? [])],
      partners: [...(original?.audience?.partners ?? [])],
      levels: (values['audience.levels'] ?? []).map(Number),
    },
  };
  if ('publish_at' in publish) body.publish_at = publish.publish_at;
  return { body, errors };
}

/**
 * Moving the FAQ entry at `index` by `delta` (-1 up, +1 down) in `entries` (in their
 * order): the position changes to send, `[{id, position}]`. Two entries with distinct
 * positions swap them; entries sharing a position are numbered 1, 2, 3… in the new
 * order first. Nothing when the move leaves the list.
 */
export function faqMoves(entries, index, delta) {
  const other = index + delta;
  if (index < 0 || index >= entries.length || other < 0 || other >= entries.length || delta === 0) return [];
  const a = entries[index];
  const b = entries[other];
  if (a.position !== b.position) {
    return [
      { id: a.id, position: b.position },
      { id: b.id, position: a.position },
    ];
  }
  const order = [...entries];
  order[index] = b;
  order[other] = a;
  return order.flatMap((entry, i) => (entry.position === i + 1 ? [] : [{ id: entry.id, position: i + 1 }]));
}
