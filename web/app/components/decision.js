// What a moderator said about a participant's receipt or task submission: the reason
// (a code such as `photo_unreadable`, shown readable) and their own words.

import { h } from '../dom.js';
import { tOr } from '../i18n.js';

/** The decision as one muted line, or '' when there is nothing to say. */
export function decisionText(reason, comment) {
  const parts = [reason ? tOr(`decision.${reason}`, reason.replaceAll('_', ' ')) : null, comment].filter(Boolean);
  return parts.length ? h('div', { class: 'muted small decision' }, parts.join(' — ')) : '';
}
