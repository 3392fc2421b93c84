// The participant's orders (`listMyOrders`, oldest first as the API pages them): each
// with its status, lines, a delivered certificate's code and PIN behind a button, the
// delivery address, why it failed, and its history. An order whose shortfall is paid
// by card shows the points part and the card part, the payment's status and, while it
// is pending, the link to pay and until when the order waits. `order_status` on `me`
// says an order moved: that order is asked again (`getOrder`) and its card replaced,
// without a reload. An order still `placed` or `awaiting_payment` can be cancelled
// (its points come back; a card payment is cancelled or refunded).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { when } from '../format.js';
import * as live from '../live.js';
import { cardList } from '../components/cards.js';
import { pagedList } from '../components/paging.js';
import { actionButton } from '../components/actions.js';
import { confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { pointsText } from '../components/rewards.js';
import {
  orderHead,
  orderLines,
  deliveryBlock,
  failureBlock,
  historyBlock,
  paymentBlock,
  orderStatusLabel,
  FINAL,
  CANCELLABLE,
} from '../components/orders.js';

export function mount(root, { query }) {
  // The order just placed on /rewards: shown (even beyond the first page) and marked.
  const placed = Number(query.get('placed')) || null;

  const list = cardList({
    render: orderCard,
    className: 'order-list',
    empty: [t('orders.none'), ' ', h('a', { href: '/rewards' }, t('orders.toShowcase'))],
  });

  const paged = pagedList({
    list,
    fetchPage: async (cursor, signal) => {
      const page = await api('/me/orders', { signal, query: { cursor, limit: 50 } });
      if (!cursor && placed && !page.items.some((o) => o.id === placed)) {
        const order = await api(`/orders/${placed}`, { signal }).catch(() => null);
        if (order) page.items.push(order);
      }
      if (!cursor && placed) setTimeout(() => list.node(placed)?.scrollIntoView({ block: 'nearest' }), 0);
      return page;
    },
  });

  function orderCard(order) {
    return h(
      'article',
      {
        class: order.id === placed ? 'card order order-new' : 'card order',
        'data-order-id': order.id,
        'data-status': order.status,
      },
      orderHead(order),
      h(
        'p',
        { class: 'muted small order-facts' },
        t('orders.placedAt', { when: when(order.created_at) }),
        ' · ',
        h('strong', { class: 'order-total' }, `${t('orders.total')}: ${pointsText(order.total)}`),
      ),
      paymentBlock(order),
      orderLines(order),
      deliveryBlock(order.delivery),
      failureBlock(order),
      historyBlock(order),
      CANCELLABLE.has(order.status)
        ? h(
            'div',
            { class: 'actions' },
            actionButton(
              t('orders.cancel'),
              async () => {
                const question = order.payment ? 'orders.cancelQuestionPayment' : 'orders.cancelQuestion';
                const yes = await confirmDialog(t(question, { id: order.id }), {
                  confirm: t('orders.cancel'),
                  danger: true,
                });
                if (!yes) return;
                try {
                  show(await api(`/orders/${order.id}/cancel`, { method: 'POST', body: {} }));
                  notify(t('orders.cancelled', { id: order.id }), 'success');
                } catch (error) {
                  refresh(order.id); // it moved on meanwhile (409): show where it is
                  throw error;
                }
              },
              { danger: true, testid: 'cancel' },
            ),
          )
        : null,
    );
  }

  /** Shows an order as fetched, unless a newer view of it is already on screen. */
  function show(order) {
    const current = list.rows().find((o) => o.id === order.id);
    if (current && current.updated_at > order.updated_at) return;
    if (current) list.update(order);
    else list.append([order]);
  }

  const controller = new AbortController();
  async function refresh(id) {
    try {
      show(await api(`/orders/${id}`, { signal: controller.signal }));
    } catch {
      // A missed refresh is caught by the next event or snapshot.
    }
  }

  let snapshots = 0;
  const stop = live.subscribe('me', (frame) => {
    if (frame.type === 'snapshot') {
      // A later snapshot follows a reconnect or a gap: events may have been missed.
      if (snapshots++ > 0) paged.reload();
    } else if (frame.type === 'event' && frame.event === 'order_status') {
      const { order_id: id, status } = frame.data;
      const known = list.rows().find((o) => o.id === id);
      if (known?.status === 'awaiting_payment' && status === 'placed') {
        notify(t('orders.paid', { id }), 'success');
      } else if (known?.status !== status && (FINAL.has(status) || status === 'shipped')) {
        notify(
          t('orders.changed', { id, status: orderStatusLabel(status) }),
          status === 'failed' ? 'error' : 'success',
        );
      }
      refresh(id);
    }
  });

  root.append(h('h1', null, t('orders.title')), paged.el);

  return () => {
    stop();
    controller.abort();
    paged.abort();
  };
}
