// How a refused call looks: the server's `detail`, any field errors that no form field
// claimed, and for a rejected CSV import every bad row in a table.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { table } from './table.js';

/**
 * An alert box for an error (an `ApiError` or anything thrown). `unclaimed` are field
 * errors to list under the detail (those without a field on screen).
 */
export function problemBox(error, { unclaimed = error?.errors ?? [] } = {}) {
  const box = h('div', { class: 'problem', role: 'alert' }, h('p', { class: 'problem-detail' }, describe(error)));
  if (unclaimed.length) {
    box.append(
      h(
        'ul',
        { class: 'problem-fields' },
        unclaimed.map((e) => h('li', null, `${e.field}: ${e.message}`)),
      ),
    );
  }
  if (error?.rows?.length) box.append(rowErrors(error.rows));
  return box;
}

/** One line for an error: the server's detail, or a friendly word for network failures. */
export function describe(error) {
  if (!error) return '';
  if (error.code === 'network') return t('error.network');
  if (error.code === 'rate_limited' && error.retryAfter) return t('error.rateLimited', { s: error.retryAfter });
  return error.detail || error.message || String(error);
}

/** The rows of an `import_rejected` problem: row number, field, message. */
export function rowErrors(rows) {
  const lines = rows.flatMap((row) => row.errors.map((e) => ({ row: row.row, field: e.field, message: e.message })));
  return table({
    caption: t('import.rowErrors', { n: rows.length }),
    columns: [
      { label: t('import.row'), render: (l) => l.row, numeric: true },
      { label: t('import.field'), render: (l) => l.field },
      { label: t('import.message'), render: (l) => l.message },
    ],
    rows: lines,
  }).el;
}
