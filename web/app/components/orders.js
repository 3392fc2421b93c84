// An order as its owner and staff see it (`Order`): status badge, lines with their
// prices, a delivered certificate's code and PIN (hidden until asked for: someone may
// be looking at the screen), the delivery address, why it failed, its history, and
// for an order whose shortfall is paid by card (`payment`) the points part, the card
// part, the payment's status and, while it is pending, the link to pay and its deadline.

import { h, uid } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { points, when, count } from '../format.js';
import { kindBadge, pointsText, moneyText } from './rewards.js';

export const ORDER_STATUSES = [
  'awaiting_payment',
  'placed',
  'processing',
  'shipped',
  'delivered',
  'fulfilled',
  'failed',
  'cancelled',
];

/** Statuses after which nothing more happens to an order. */
export const FINAL = new Set(['delivered', 'fulfilled', 'failed', 'cancelled']);

/** Statuses in which the participant may still cancel their order. */
export const CANCELLABLE = new Set(['placed', 'awaiting_payment']);

export function orderStatusLabel(status) {
  return tOr(`order.status.${status}`, status);
}

export function orderStatusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, orderStatusLabel(status));
}

export function paymentStatusBadge(status) {
  return h(
    'span',
    { class: `badge status-${status}`, 'data-payment-status': status },
    tOr(`payment.status.${status}`, status),
  );
}

/**
 * The link to the payment provider's page, opened in a new tab (the order stays on
 * screen and learns the outcome live), with a line saying so. Only a web link is
 * followed. Returns nodes, or null.
 */
export function payLink(url) {
  let safe = null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'https:' || parsed.protocol === 'http:') safe = parsed.href;
  } catch {
    // Not a URL: no link.
  }
  if (!safe) return null;
  const id = uid('pay-tab');
  return h(
    'div',
    { class: 'actions pay' },
    h(
      'a',
      {
        class: 'button pay-link',
        href: safe,
        target: '_blank',
        rel: 'noopener noreferrer',
        'data-action': 'pay',
        'aria-describedby': id,
      },
      t('payment.pay'),
    ),
    h('span', { class: 'muted small', id }, t('payment.newTab')),
  );
}

/**
 * An order's card payment: what points pay and what the card pays, the payment's
 * status, why it stands so, and while it is pending its deadline and (`pay`) the link.
 * Nothing for an order paid with points alone.
 */
export function paymentBlock(order, { pay = true } = {}) {
  const payment = order.payment;
  if (!payment) return null;
  const pending = payment.status === 'pending';
  const link = pay && pending && payment.confirmation_url ? payLink(payment.confirmation_url) : null;
  return h(
    'div',
    { class: 'order-payment', 'data-testid': 'payment' },
    h(
      'dl',
      { class: 'facts payment-facts' },
      h('div', null, h('dt', null, t('orders.withPoints')), h('dd', null, pointsText(order.points ?? '0'))),
      h(
        'div',
        null,
        h('dt', null, t('orders.byCard')),
        h('dd', null, moneyText(payment.amount), ' ', paymentStatusBadge(payment.status)),
      ),
    ),
    pending && payment.expires_at
      ? h(
          'p',
          { class: 'small payment-until' },
          t('orders.paymentUntil', { amount: moneyText(payment.amount), when: when(payment.expires_at) }),
        )
      : null,
    link,
    payment.reason ? h('p', { class: 'small muted' }, t('orders.paymentReason', { reason: payment.reason })) : null,
  );
}

/** A certificate's code and PIN behind a "show" button. */
function certificate(cert) {
  const secret = h(
    'dl',
    { class: 'facts certificate', hidden: true, 'data-testid': 'certificate' },
    cert.code ? [h('dt', null, t('orders.code')), h('dd', { class: 'mono' }, cert.code)] : null,
    cert.pin ? [h('dt', null, t('orders.pin')), h('dd', { class: 'mono' }, cert.pin)] : null,
  );
  const copy = cert.code
    ? h(
        'button',
        {
          type: 'button',
          class: 'small secondary',
          hidden: true,
          onclick: () => navigator.clipboard?.writeText(cert.code),
        },
        t('orders.copy'),
      )
    : null;
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'small',
      'aria-expanded': 'false',
      'data-action': 'show-certificate',
      onclick: () => {
        secret.hidden = !secret.hidden;
        if (copy) copy.hidden = secret.hidden;
        toggle.setAttribute('aria-expanded', String(!secret.hidden));
        toggle.textContent = secret.hidden ? t('orders.show') : t('orders.hide');
      },
    },
    t('orders.show'),
  );
  return h(
    'div',
    { class: 'order-cert' },
    h('div', { class: 'row-actions' }, toggle, copy),
    secret,
  );
}

/** The order's lines. */
export function orderLines(order) {
  return h(
    'ul',
    { class: 'order-lines' },
    order.items.map((item) =>
      h(
        'li',
        { class: 'order-line' },
        h(
          'div',
          { class: 'order-line-head' },
          h('strong', null, item.title),
          kindBadge(item.kind),
          item.delivered ? h('span', { class: 'badge status-fulfilled' }, t('orders.delivered')) : null,
        ),
        h(
          'div',
          { class: 'order-line-price' },
          h('span', { class: 'muted' }, t('orders.line', { quantity: count(item.quantity), price: points(item.unit_price) })),
          h('span', { class: 'num' }, pointsText(item.amount)),
        ),
        item.certificate && (item.certificate.code || item.certificate.pin) ? certificate(item.certificate) : null,
      ),
    ),
  );
}

/** Where goods go. */
export function deliveryBlock(delivery) {
  if (!delivery) return null;
  const parts = [delivery.name, delivery.phone, delivery.address].filter(Boolean);
  if (!parts.length && !delivery.comment) return null;
  return h(
    'div',
    { class: 'order-delivery' },
    h('span', { class: 'muted small' }, t('orders.delivery')),
    h('div', null, parts.join(', ')),
    delivery.comment ? h('div', { class: 'muted small' }, delivery.comment) : null,
  );
}

/** The order's history, folded. */
export function historyBlock(order) {
  return h(
    'details',
    { class: 'order-history' },
    h('summary', null, t('orders.history')),
    h(
      'ol',
      null,
      order.history.map((e) =>
        h(
          'li',
          null,
          h('span', { class: 'muted small' }, when(e.at)),
          ' ',
          orderStatusBadge(e.status),
          e.note ? h('span', { class: 'small' }, ` ${e.note}`) : null,
        ),
      ),
    ),
  );
}

/** A failed order's reason. */
export function failureBlock(order) {
  return order.failure_reason && order.status === 'failed'
    ? h('p', { class: 'problem order-failure' }, t('orders.failure', { reason: order.failure_reason }))
    : null;
}

/** Everything about one order (the staff's detail dialog; the seller's card adds actions). */
export function orderBody(order, { pay = false } = {}) {
  return [
    orderLines(order),
    paymentBlock(order, { pay }),
    deliveryBlock(order.delivery),
    failureBlock(order),
    historyBlock(order),
  ];
}

/** An order card's head: its number and status. */
export function orderHead(order) {
  return h(
    'div',
    { class: 'card-head order-head' },
    h('h2', null, t('orders.order', { id: order.id })),
    orderStatusBadge(order.status),
  );
}

