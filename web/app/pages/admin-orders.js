// Staff with program-wide `rewards.view`: the program's orders (`listOrders`), filtered
// by status (`awaiting_payment` too: a shortfall paid by card), participant and dates,
// each with its details (the card payment among them); with `rewards.edit`, a
// status set by hand (goods shipped and delivered, or fulfilled / failed outside the
// provider: a move the order's status does not allow is refused as `invalid_state`,
// shown in the dialog) and a cancellation with a reason (the points go back).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { when, dayStart } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { filterBar } from '../components/filters.js';
import { formDialog, actionButton } from '../components/actions.js';
import { openDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { pointsText, moneyText, SHIPPED } from '../components/rewards.js';
import { ORDER_STATUSES, FINAL, orderStatusBadge, orderStatusLabel, orderBody } from '../components/orders.js';

/** The statuses staff may set, and which of them suit an order now (the server decides). */
const SETTABLE = ['shipped', 'delivered', 'fulfilled', 'failed'];
function suggested(order) {
  const goods = order.items.some((i) => SHIPPED.has(i.kind));
  const s = order.status;
  return SETTABLE.filter((next) => {
    if (next === 'shipped') return goods && s === 'processing';
    if (next === 'delivered') return goods && s === 'shipped';
    if (next === 'fulfilled') return !goods && (s === 'placed' || s === 'processing');
    return s === 'placed' || s === 'processing';
  });
}

export function mount(root, { query }) {
  const editor = can('rewards.edit');

  const list = table({
    empty: t('ordersAdmin.none'),
    columns: [
      { label: '#', numeric: true, render: (o) => String(o.id) },
      { label: t('ordersAdmin.created'), render: (o) => when(o.created_at) },
      {
        label: t('ordersAdmin.who'),
        render: (o) => h('a', { href: `/people/${o.participant_id}` }, `#${o.participant_id}`),
      },
      {
        label: t('orders.lines'),
        render: (o) => o.items.map((i) => h('div', null, `${i.quantity} × ${i.title}`)),
      },
      {
        label: t('orders.total'),
        numeric: true,
        render: (o) => [
          pointsText(o.total),
          o.payment
            ? h('div', { class: 'muted small' }, `${t('orders.byCard')}: ${moneyText(o.payment.amount)}`)
            : null,
        ],
      },
      { label: t('effects.status'), render: (o) => orderStatusBadge(o.status) },
      { label: t('common.actions'), render: actions },
    ],
  });

  const filters = filterBar({
    controls: [
      {
        name: 'status',
        label: t('effects.status'),
        type: 'select',
        value: query.get('status') ?? '',
        options: [
          { value: '', label: t('common.all') },
          ...ORDER_STATUSES.map((s) => ({ value: s, label: orderStatusLabel(s) })),
        ],
      },
      { name: 'participant_id', label: t('ordersAdmin.participant'), type: 'number', value: query.get('participant_id') ?? '' },
      { name: 'from', label: t('ordersAdmin.from'), type: 'date' },
      { name: 'to', label: t('ordersAdmin.to'), type: 'date' },
    ],
    onChange: () => paged.reload(),
  });

  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => {
      const f = filters.values();
      return api('/orders', {
        signal,
        query: {
          status: f.status,
          participant_id: /^\d+$/.test(f.participant_id) ? f.participant_id : null,
          from: dayStart(f.from),
          // `to` is exclusive: the next midnight keeps the chosen day.
          to: dayStart(f.to, 1),
          cursor,
          limit: 50,
        },
      });
    },
  });

  function actions(order) {
    const buttons = [actionButton(t('ordersAdmin.details'), async () => details(order), { testid: 'details' })];
    if (editor && !FINAL.has(order.status)) {
      buttons.push(actionButton(t('ordersAdmin.setStatus'), async () => setStatus(order), { testid: 'set-status' }));
      if (order.status !== 'shipped')
        buttons.push(actionButton(t('orders.cancel'), async () => cancel(order), { danger: true, testid: 'cancel' }));
    }
    return h('div', { class: 'row-actions' }, buttons);
  }

  function details(order) {
    openDialog({
      title: t('orders.order', { id: order.id }),
      content: h(
        'div',
        { class: 'order' },
        h(
          'p',
          { class: 'muted small' },
          orderStatusBadge(order.status),
          ' ',
          t('orders.placedAt', { when: when(order.created_at) }),
          ' · ',
          h('a', { href: `/people/${order.participant_id}` }, `${t('ordersAdmin.who')} #${order.participant_id}`),
          ' · ',
          h('strong', null, pointsText(order.total)),
        ),
        orderBody(order),
      ),
    });
  }

  function changed(order, text) {
    list.update(order);
    notify(text, 'success');
  }

  function setStatus(order) {
    const offered = suggested(order);
    formDialog(t('ordersAdmin.setStatusTitle', { id: order.id }), {
      fields: [
        {
          name: 'status',
          label: t('effects.status'),
          type: 'select',
          required: true,
          // What suits the order first; the rest stay possible (the server has the last word).
          options: [...offered, ...SETTABLE.filter((s) => !offered.includes(s))].map((s) => ({
            value: s,
            label: orderStatusLabel(s),
          })),
        },
        { name: 'note', label: t('ordersAdmin.note'), type: 'textarea', rows: 2 },
      ],
      submit: t('ordersAdmin.setStatus'),
      onSubmit: (v) =>
        api(`/orders/${order.id}/status`, { method: 'POST', body: { status: v.status, note: v.note || null } }),
      onSuccess: (updated) =>
        changed(updated, t('ordersAdmin.updated', { id: updated.id, status: orderStatusLabel(updated.status) })),
    });
  }

  function cancel(order) {
    formDialog(t('ordersAdmin.cancelTitle', { id: order.id }), {
      fields: [{ name: 'reason', label: t('ordersAdmin.cancelReason'), type: 'textarea', rows: 2 }],
      submit: t('orders.cancel'),
      onSubmit: (v) => api(`/orders/${order.id}/cancel`, { method: 'POST', body: { reason: v.reason || null } }),
      onSuccess: (updated) => changed(updated, t('ordersAdmin.cancelled', { id: updated.id })),
    });
  }

  root.append(h('h1', null, t('ordersAdmin.title')), filters.el, paged.el);
  return () => paged.abort();
}
