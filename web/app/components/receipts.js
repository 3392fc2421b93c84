// The seller's sale reports (`listMyReceipts`, newest first) with what became of each:
// waiting, approved, rejected or sent back with the moderator's words.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { points, when, count } from '../format.js';
import { table } from './table.js';
import { pagedList } from './paging.js';
import { statusBadge } from './actions.js';
import { decisionText } from './decision.js';

/** `productName(id)` names a product. Returns { el, reload() }. */
export function receiptList({ productName }) {
  const list = table({
    empty: t('receipts.empty'),
    columns: [
      { label: t('receipts.when'), wide: true, render: (r) => when(r.created_at) },
      { label: t('receipts.number'), render: (r) => h('span', { class: 'mono' }, r.receipt_number) },
      { label: t('receipts.product'), render: (r) => productName(r.product_id) },
      { label: t('receipts.quantity'), numeric: true, render: (r) => count(r.quantity) },
      { label: t('receipts.points'), numeric: true, render: (r) => points(r.points) },
      {
        label: t('receipts.status'),
        render: (r) => [statusBadge(r.status), decisionText(r.decision_reason, r.decision_comment)],
      },
    ],
  });
  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/me/receipts', { signal, query: { cursor, limit: 20 } }),
  });
  return { el: h('div', { class: 'receipts', 'data-testid': 'receipts' }, paged.el), reload: paged.reload };
}
