// Support requests, shared by the participant's page (/support) and the staff page
// (/admin/support): the status words, the thread as a chat (oldest first; the viewer's
// side on the right: a participant's own messages, or staff's on the staff page), a
// message's preview for lists, a live message merged into a request, and the staff's
// counts moved by a `support_request` event. The pure helpers come first (unit tests
// in web/tests/support.test.mjs); the DOM pieces after them. Nothing here touches the
// live connection: components/support-live.js does.

import { h } from '../dom.js';
import { t, tOr, tn } from '../i18n.js';
import { when } from '../format.js';
import { photoGallery } from './photos.js';

/** The statuses, in the order staff work through them. */
export const STATUSES = ['open', 'answered', 'closed'];

/** How long a preview in a list may be (characters). */
export const PREVIEW_LENGTH = 90;

/** A request's status in words ("Waiting for an answer"); an unknown one as it came. */
export function statusWord(status) {
  return tOr(`support.status.${status}`, String(status ?? ''));
}

/**
 * A text for a list line: whitespace (line breaks too) made single spaces, and cut to
 * at most `max` characters (counted as characters, not UTF-16 halves) at the last word
 * boundary, ending in "…". A text that fits is left whole.
 */
export function previewText(text, max = PREVIEW_LENGTH) {
  const flat = String(text ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...flat];
  if (chars.length <= max) return flat;
  let cut = chars.slice(0, Math.max(1, max - 1)).join('');
  const space = cut.lastIndexOf(' ');
  // Back to a word boundary unless that would leave too little of the text.
  if (space >= cut.length / 2) cut = cut.slice(0, space);
  return `${cut.replace(/[\s.,;:!?…\-–—]+$/u, '')}…`;
}

/**
 * The messages of a request as a chat: oldest first (by time, then id), each with
 * `side`: `right` for the viewer's side (a participant's own messages; on the staff
 * page, staff's), `left` for the other side.
 */
export function chatMessages(request, { staff = false } = {}) {
  return [...(request?.messages ?? [])]
    .sort((a, b) => a.created_at - b.created_at || a.id - b.id)
    .map((m) => ({ ...m, side: Boolean(m.from_staff) === staff ? 'right' : 'left' }));
}

/** The newest message of a request, or null. */
export function lastMessage(request) {
  return chatMessages(request).at(-1) ?? null;
}

/**
 * A list line's preview of the newest message, naming who wrote it: "You: …" or
 * "Support: …" for a participant, "Name: …" (staff's own as "Support") for staff.
 */
export function lastLine(request, { staff = false, max = PREVIEW_LENGTH } = {}) {
  const last = lastMessage(request);
  if (!last) return '';
  const text = previewText(last.text, max);
  if (last.from_staff) return t('support.lastFromStaff', { text });
  return staff ? t('support.lastFrom', { name: last.author_name, text }) : t('support.lastFromYou', { text });
}

/**
 * A request with a message that arrived live (`support_reply`): added once (a message
 * already there is not repeated) and the request in its new status.
 */
export function withMessage(request, message, status = request.status) {
  const known = request.messages.some((m) => m.id === message.id);
  return {
    ...request,
    status,
    updated_at: Math.max(request.updated_at ?? 0, message.created_at ?? 0),
    messages: known ? request.messages : [...request.messages, message],
  };
}

/**
 * The staff's counts (`{open, answered}` of the `support` snapshot) after a
 * `support_request` event: `before` is the request's status when it was last seen in
 * an event since that snapshot (undefined when it was not). A new request (open, one
 * message) adds one to `open`; a known one moves from its old status to its new one.
 * Returns null when it cannot be told (a request not seen since the snapshot): the page
 * asks for a fresh snapshot instead.
 */
export function countsAfter(counts, before, request) {
  const next = { open: counts.open ?? 0, answered: counts.answered ?? 0 };
  const counted = (status) => status === 'open' || status === 'answered';
  if (before === undefined) {
    if (request.status === 'open' && request.messages?.length === 1) {
      next.open += 1;
      return next;
    }
    return null;
  }
  if (counted(before)) next[before] = Math.max(0, next[before] - 1);
  if (counted(request.status)) next[request.status] += 1;
  return next;
}

// ---- DOM pieces --------------------------------------------------------------------

/** The status as a badge (`data-status` for tests and styles). */
export function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, statusWord(status));
}

/** "3 messages · last message 12.05.26, 14:03". */
export function requestFacts(request) {
  return [
    tn('support.messages', request.messages?.length ?? 0),
    ' · ',
    t('support.updated', { when: when(request.updated_at) }),
  ];
}

/**
 * The thread as a chat list. Messages only ever get added, so `show(request)` appends
 * the new ones (photos are fetched once) and scrolls the newest into view when asked.
 * Returns { el, show(request, {scroll}), dispose() }.
 */
export function chatThread({ staff = false } = {}) {
  const el = h('ol', { class: 'chat', 'aria-label': t('support.thread'), 'aria-live': 'polite' });
  const shown = new Map(); // message id → node
  const galleries = [];

  function author(m) {
    if (!staff) return m.from_staff ? t('support.staffAuthor', { name: m.author_name }) : t('support.you');
    return m.from_staff ? t('support.staffAuthor', { name: m.author_name }) : m.author_name;
  }

  function messageNode(m) {
    let photo = null;
    if (m.photo) {
      const gallery = photoGallery([m.photo], { alt: t('support.photoAlt') });
      galleries.push(gallery);
      photo = gallery.el;
    }
    return h(
      'li',
      {
        class: `chat-message side-${m.side}`,
        'data-message-id': m.id,
        'data-from': m.from_staff ? 'staff' : 'participant',
      },
      h('div', { class: 'chat-meta' }, h('span', { class: 'chat-author' }, author(m)), ' · ', when(m.created_at)),
      h('p', { class: 'chat-text' }, m.text),
      photo,
    );
  }

  return {
    el,
    show(request, { scroll = false } = {}) {
      let newest = null;
      for (const m of chatMessages(request, { staff })) {
        if (shown.has(m.id)) continue;
        newest = messageNode(m);
        shown.set(m.id, newest);
        el.append(newest);
      }
      if (newest && scroll) newest.scrollIntoView?.({ block: 'nearest' });
    },
    dispose() {
      galleries.forEach((g) => g.dispose());
    },
  };
}

/** A request's heading line: its number, when it was opened, its status. */
export function requestHead(request) {
  return h(
    'p',
    { class: 'muted small support-head', 'data-testid': 'support-status', 'data-status': request.status },
    statusBadge(request.status),
    ' ',
    t('support.number', { id: request.id }),
    ' · ',
    t('support.opened', { when: when(request.created_at) }),
  );
}
