// A points history (`HistoryItem` pages, newest first) with its filters: the seller's
// own (`/me/transactions`) and, for owners and managers, a seller's
// (`/participants/{id}/transactions`). A debit names the credits it took its points
// from (`lots`: an expiry, what was left of each credit that expired), folded when
// there are many.

import { h } from '../dom.js';
import { t, tOr, tn } from '../i18n.js';
import { api } from '../api.js';
import { points, when, date, isNegative, isZero, dayStart } from '../format.js';
import { table } from './table.js';
import { pagedList } from './paging.js';
import { filterBar } from './filters.js';

const REASONS = [
  'award',
  'adjustment',
  'code',
  'task',
  'approval',
  'rejection',
  'welcome',
  'referral',
  'loyalty',
  'bonus',
  'order',
  'payout',
  'expiry',
  'recalculation',
];

/** Lots named inline; more are folded under a count. */
const LOTS_INLINE = 3;

/** "from points credited on Sep 3, 2026: 20.00", one line per lot. */
function lotsDetail(lots) {
  if (!lots?.length) return null;
  const list = h(
    'ul',
    { class: 'lots muted small' },
    lots.map((lot) => h('li', null, t('history.lot', { date: date(lot.credited_at), amount: points(lot.amount) }))),
  );
  if (lots.length <= LOTS_INLINE) return list;
  return h(
    'details',
    { class: 'lots-more' },
    h('summary', { class: 'small' }, tn('history.lots', lots.length, { n: lots.length })),
    list,
  );
}

function signedAmount(value) {
  return h('span', { class: isNegative(value) ? 'debit' : 'credit' }, points(value, { signed: true }));
}

/** Returns { el, reload() }. */
export function historyList(path) {
  const list = table({
    empty: t('history.empty'),
    columns: [
      { label: t('history.when'), render: (i) => when(i.created_at) },
      {
        label: t('history.what'),
        render: (i) => [
          h(
            'div',
            null,
            tOr(`reason.${i.reason}`, i.reason),
            i.owner_share ? h('span', { class: 'badge' }, t('history.ownerShare')) : null,
          ),
          i.comment ? h('div', { class: 'muted small' }, i.comment) : null,
          lotsDetail(i.lots),
        ],
      },
      { label: t('history.amount'), numeric: true, render: (i) => signedAmount(i.amount) },
      {
        label: t('history.pending'),
        numeric: true,
        render: (i) => (i.pending_amount && !isZero(i.pending_amount) ? signedAmount(i.pending_amount) : ''),
      },
      {
        label: t('history.status'),
        render: (i) =>
          i.status === 'posted'
            ? ''
            : h('span', { class: `badge status-${i.status}` }, tOr(`status.${i.status}`, i.status)),
      },
    ],
  });

  const filters = filterBar({
    controls: [
      {
        name: 'reason',
        label: t('history.reason'),
        type: 'select',
        options: [
          { value: '', label: t('common.all') },
          ...REASONS.map((r) => ({ value: r, label: tOr(`reason.${r}`, r) })),
        ],
      },
      {
        name: 'direction',
        label: t('history.direction'),
        type: 'select',
        options: [
          { value: '', label: t('common.all') },
          { value: 'credit', label: t('history.credit') },
          { value: 'debit', label: t('history.debit') },
        ],
      },
      { name: 'since', label: t('history.since'), type: 'date' },
      { name: 'until', label: t('history.until'), type: 'date' },
    ],
    onChange: () => paged.reload(),
  });

  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => {
      const f = filters.values();
      // `until` is exclusive: ask for the next midnight so the chosen day is included.
      const query = {
        reason: f.reason,
        direction: f.direction,
        since: dayStart(f.since),
        until: dayStart(f.until, 1),
        cursor,
        limit: 20,
      };
      return api(path, { signal, query });
    },
  });

  return { el: h('div', { class: 'history' }, filters.el, paged.el), reload: paged.reload };
}
