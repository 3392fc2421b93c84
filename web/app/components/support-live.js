// Support's answers reach an active participant on any page: the shell (app.js) keeps
// one `me` subscription for them, and each `support_reply` goes to the listeners of the
// page on screen (the list of requests, an open thread). A listener that shows the
// message (the thread of that request) returns true; otherwise the answer shows as a
// toast, wherever the participant is.

import { t } from '../i18n.js';
import { session } from '../session.js';
import * as live from '../live.js';
import { notify } from './toast.js';
import { previewText } from './support.js';

const listeners = new Set();
let held = null; // { token, stop } of the subscription, per login

function receive(frame) {
  let shown = false;
  for (const listener of [...listeners]) if (listener(frame) === true) shown = true;
  if (frame.type === 'event' && frame.event === 'support_reply' && !shown) {
    notify(t('support.replied', { text: previewText(frame.data.message?.text, 60) }), 'info');
  }
}

/**
 * Follows `me` for support's answers while `active` (an active participant is logged
 * in); called by the shell on every page change. A new login subscribes again.
 */
export function followSupportReplies(active) {
  const token = active ? session.token() : null;
  if (held && held.token === token) return;
  held?.stop();
  held = token ? { token, stop: live.subscribe('me', receive) } : null;
}

/**
 * A page's listener of the `me` frames the shell follows (snapshots after a reconnect,
 * `support_reply`); returns true from a `support_reply` it shows itself. Returns a
 * function that stops listening.
 */
export function onSupportFrame(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
