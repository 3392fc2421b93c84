// The header's bell (active participants): the inbox's unread count, live. It watches
// `me` for the whole session: a `notification` shows a toast in the page's language
// (from the event's `texts`) and counts one more unread; every `me` snapshot (the first
// one, and after a reconnect, when events may have been missed) reads the count again
// (`listMyNotifications`). The inbox page listens here for new messages and sets the
// count after marking messages read.

import { h, debounce } from '../dom.js';
import { t, tn, locale } from '../i18n.js';
import { api } from '../api.js';
import { session } from '../session.js';
import * as live from '../live.js';
import { notify } from './toast.js';
import { pushedItem } from './content.js';

const SVG = 'http://www.w3.org/2000/svg';

let watching = null; // the token the subscription belongs to
let unread = 0;
let el = null;
let badge = null;
const listeners = new Set();

function bellIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '22');
  svg.setAttribute('height', '22');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute(
    'd',
    'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z',
  );
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

function show() {
  if (!el) return;
  badge.textContent = unread > 99 ? '99+' : String(unread);
  badge.hidden = unread === 0;
  el.dataset.unread = String(unread);
  el.setAttribute(
    'aria-label',
    unread ? t('inbox.bellLabel', { unread: tn('inbox.unread', unread) }) : t('inbox.bellNone'),
  );
  el.title = el.getAttribute('aria-label');
}

/** Sets the unread count (from an answer of the API) and tells the listeners. */
export function setUnread(n) {
  unread = Math.max(0, Number(n) || 0);
  show();
  for (const listener of listeners) listener({ type: 'unread', unread });
}

/** The unread count as last known. */
export function unreadCount() {
  return unread;
}

/** Listens to `{type:'new', item}` and `{type:'unread', unread}`; returns the unsubscribe. */
export function onInbox(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function readCount() {
  try {
    const page = await api('/me/notifications', { query: { limit: 1, lang: locale } });
    setUnread(page.unread);
  } catch {
    // The count stays as it was; the next snapshot tries again.
  }
}
const readCountSoon = debounce(readCount, 300);

function watch() {
  watching = session.token();
  unread = 0;
  readCount();
  live.subscribe('me', (frame) => {
    if (watching !== session.token()) return;
    if (frame.type === 'snapshot') readCountSoon();
    else if (frame.type === 'event' && frame.event === 'notification') {
      const item = pushedItem(frame.data, locale);
      notify([h('strong', null, item.title), item.body ? ` ${item.body}` : ''], 'info');
      if (!item.read) setUnread(unread + 1);
      for (const listener of listeners) listener({ type: 'new', item });
    }
  });
}

/**
 * The bell, a link to /inbox with the unread count; watching starts with the first call
 * of a session (a new login watches again: logging out forgets every topic).
 */
export function inboxBell() {
  if (!el) {
    badge = h('span', { class: 'bell-count', 'data-testid': 'bell-count', hidden: true });
    el = h('a', { class: 'bell', href: '/inbox', 'data-testid': 'bell' }, bellIcon(), badge);
  }
  if (watching !== session.token()) watch();
  el.setAttribute('aria-current', location.pathname === '/inbox' ? 'page' : 'false');
  show();
  return el;
}
