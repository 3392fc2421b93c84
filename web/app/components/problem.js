// How a refused call looks: a short headline for the refusals a person can act on
// (`problem.{code}` in i18n.js, when there is one), the server's `detail`, any field
// errors that no form field claimed, and for a rejected CSV import every bad row in a
// table.

import { h } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { duration } from '../format.js';
import { table } from './table.js';

/**
 * An alert box for an error (an `ApiError` or anything thrown). `unclaimed` are field
 * errors to list under the detail (those without a field on screen).
 */
export function problemBox(error, { unclaimed = error?.errors ?? [] } = {}) {
  const headline = error?.code ? tOr(`problem.${error.code}`, null) : null;
  const box = h(
    'div',
    { class: 'problem', role: 'alert', 'data-code': error?.code },
    headline ? h('p', { class: 'problem-title' }, headline) : null,
    h('p', { class: 'problem-detail' }, describe(error)),
  );
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
  const detail = error.detail || error.message || String(error);
  // Other waits (a blocked hour of code attempts) keep the server's words and say how long.
  return error.retryAfter ? `${detail} ${t('error.retryIn', { time: duration(error.retryAfter * 1000) })}` : detail;
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
