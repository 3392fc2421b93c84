// Outbound webhooks, for the staff page /admin/webhooks: the six events in words, a
// subscription's secret masked, a delivery's status and tries in words, the
// subscription form's checks and request, and the events' checkboxes. Everything but
// `eventsControl` is pure, for the unit tests.

import { h, uid } from '../dom.js';
import { t, tn } from '../i18n.js';
import { count } from '../format.js';

/** The events a subscription may ask for, in the server's order. */
export const EVENTS = [
  'points.credited',
  'order.placed',
  'order.status_changed',
  'code.registered',
  'participant.approved',
  'task.decided',
];

// Literal keys, so the dictionary test sees each of them.
const EVENT_WORDS = {
  'points.credited': () => t('webhooks.event.pointsCredited'),
  'order.placed': () => t('webhooks.event.orderPlaced'),
  'order.status_changed': () => t('webhooks.event.orderStatusChanged'),
  'code.registered': () => t('webhooks.event.codeRegistered'),
  'participant.approved': () => t('webhooks.event.participantApproved'),
  'task.decided': () => t('webhooks.event.taskDecided'),
};
const EVENT_HINTS = {
  'points.credited': () => t('webhooks.eventHint.pointsCredited'),
  'order.placed': () => t('webhooks.eventHint.orderPlaced'),
  'order.status_changed': () => t('webhooks.eventHint.orderStatusChanged'),
  'code.registered': () => t('webhooks.eventHint.codeRegistered'),
  'participant.approved': () => t('webhooks.eventHint.participantApproved'),
  'task.decided': () => t('webhooks.eventHint.taskDecided'),
};
const STATUS_WORDS = {
  pending: () => t('webhooks.status.pending'),
  delivered: () => t('webhooks.status.delivered'),
  failed: () => t('webhooks.status.failed'),
};

/** An event in words ("An order is placed"); one this page does not know, as its name. */
export function eventWord(event) {
  return EVENT_WORDS[event]?.() ?? String(event ?? '');
}

/** What an event carries and when it comes, in a sentence. */
export function eventHint(event) {
  return EVENT_HINTS[event]?.() ?? '';
}

/** A subscription's events in words, in the server's order, unknown ones last. */
export function eventsText(events) {
  const list = [...new Set(events ?? [])];
  const known = EVENTS.filter((e) => list.includes(e));
  const unknown = list.filter((e) => !EVENTS.includes(e));
  return [...known, ...unknown].map(eventWord);
}

/** A delivery's status in words. */
export function deliveryStatusWord(status) {
  return STATUS_WORDS[status]?.() ?? String(status ?? '');
}

/**
 * A secret as shown until "show" is pressed: its `whsec_` prefix, dots and its last
 * four characters (enough to tell two apart, not to sign with).
 */
export function maskSecret(secret) {
  const text = String(secret ?? '');
  const prefix = text.startsWith('whsec_') ? 'whsec_' : '';
  const rest = text.slice(prefix.length);
  if (rest.length <= 8) return `${prefix}${'•'.repeat(8)}`;
  return `${prefix}${'•'.repeat(8)}${rest.slice(-4)}`;
}

/** One try of a delivery in words: the receiver's answer or the error, and how long. */
export function attemptText(attempt) {
  const took = t('webhooks.took', { ms: count(attempt.duration_ms ?? 0) });
  if (attempt.status_code !== null && attempt.status_code !== undefined) {
    const ok = attempt.status_code >= 200 && attempt.status_code < 300;
    return t(ok ? 'webhooks.answered' : 'webhooks.refused', { code: attempt.status_code, took });
  }
  return t('webhooks.noAnswer', { error: attempt.error || t('webhooks.unknownError'), took });
}

/** The tries of a delivery, counted ("3 tries"). */
export function triesText(n) {
  return tn('webhooks.tries', n, { n: count(n) });
}

/** The last try's answer in a few words ("HTTP 500", "no answer"), or ''. */
export function lastResult(delivery) {
  const last = delivery?.attempts?.[delivery.attempts.length - 1];
  if (!last) return '';
  if (last.status_code !== null && last.status_code !== undefined) return `HTTP ${last.status_code}`;
  return t('webhooks.noAnswerShort');
}

/**
 * The subscription form's values (`url`, `events` as a list, `description`, `active`)
 * checked and turned into the request. For a change (`original`), only what differs
 * is sent. Returns `{ body, errors }` (errors in the form's field names, which are
 * the API's).
 */
export function webhookRequest(values, original = null) {
  const errors = [];
  const url = String(values.url ?? '').trim();
  const events = EVENTS.filter((e) => (values.events ?? []).includes(e)).concat(
    (values.events ?? []).filter((e) => !EVENTS.includes(e)),
  );
  const description = String(values.description ?? '').trim();
  if (!url) errors.push({ field: 'url', message: t('form.required') });
  else if (!/^https?:\/\/[^\s/?#]+/i.test(url)) errors.push({ field: 'url', message: t('webhooks.urlForm') });
  if (!events.length) errors.push({ field: 'events', message: t('webhooks.eventsNone') });
  if ([...description].length > 500) errors.push({ field: 'description', message: t('webhooks.descriptionLong') });
  if (!original) return { body: { url, events, description }, errors };
  const body = {};
  if (url !== original.url) body.url = url;
  const same = events.length === original.events.length && events.every((e) => original.events.includes(e));
  if (!same) body.events = events;
  if (description !== (original.description ?? '')) body.description = description;
  if (typeof values.active === 'boolean' && values.active !== original.active) body.active = values.active;
  return { body, errors };
}

/**
 * The events as checkboxes for a `custom` form field: each its words, what it carries
 * and its name; `value()` the ticked names. Each box's `value` is the event's name.
 */
export function eventsControl(selected = []) {
  const chosen = new Set(selected);
  const extra = selected.filter((e) => !EVENTS.includes(e));
  const boxes = [...EVENTS, ...extra].map((event) => {
    const id = uid('event');
    const input = h('input', { id, type: 'checkbox', value: event, checked: chosen.has(event) });
    return {
      event,
      input,
      el: h(
        'div',
        { class: 'choice event-choice' },
        input,
        h(
          'label',
          { for: id },
          h('span', null, eventWord(event)),
          ' ',
          h('code', { class: 'small' }, event),
          eventHint(event) ? h('span', { class: 'hint' }, eventHint(event)) : null,
        ),
      ),
    };
  });
  return {
    el: h(
      'div',
      { class: 'choices', role: 'group', 'aria-label': t('webhooks.events'), tabindex: -1 },
      boxes.map((b) => b.el),
    ),
    value: () => boxes.filter((b) => b.input.checked).map((b) => b.event),
  };
}
