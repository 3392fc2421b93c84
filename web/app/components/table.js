// The one data table of the UI. Columns say how to render a row (text or nodes);
// the table scrolls sideways on narrow phones instead of squeezing columns, and keeps
// rows addressable by key so live updates can replace a single row.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';

function classes(col) {
  return [col.numeric ? 'num' : '', col.wide ? 'wide-only' : '', col.className ?? ''].join(' ').trim() || null;
}

/**
 * `columns`: [{ label, render(row) → node | string, numeric?, wide? (left out on
 * phones, where each row becomes a card), className? }]
 * `rowKey(row)`: a stable key (default `row.id`), `empty`: text when there are no rows,
 * `rowClass(row)`: a class for the row (e.g. the viewer's own line on a leaderboard),
 * `keep`: stay a table on phones (a few narrow columns need no cards).
 * Returns { el, setRows(rows), append(rows), update(row), remove(key), rows() }.
 */
export function table({
  columns,
  rows = [],
  rowKey = (row) => row.id,
  rowClass = () => null,
  empty = t('common.empty'),
  caption = null,
  keep = false,
}) {
  const body = h('tbody');
  const trs = new Map();
  let data = [];

  const emptyRow = h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, empty));

  function renderRow(row) {
    return h(
      'tr',
      { class: rowClass(row) },
      columns.map((col) => h('td', { class: classes(col), 'data-label': col.label }, col.render(row))),
    );
  }

  function refreshEmpty() {
    if (data.length === 0) body.append(emptyRow);
    else emptyRow.remove();
  }

  const api = {
    el: h(
      'div',
      { class: keep ? 'table-wrap table-keep' : 'table-wrap' },
      h(
        'table',
        null,
        caption ? h('caption', null, caption) : null,
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            columns.map((col) => h('th', { scope: 'col', class: classes(col) }, col.label)),
          ),
        ),
        body,
      ),
    ),
    setRows(next) {
      data = [];
      trs.clear();
      replace(body);
      api.append(next);
    },
    append(next) {
      for (const row of next) {
        const tr = renderRow(row);
        data.push(row);
        trs.set(rowKey(row), tr);
        body.append(tr);
      }
      refreshEmpty();
    },
    update(row) {
      const key = rowKey(row);
      const old = trs.get(key);
      if (!old) return;
      const tr = renderRow(row);
      old.replaceWith(tr);
      trs.set(key, tr);
      data = data.map((r) => (rowKey(r) === key ? row : r));
    },
    remove(key) {
      trs.get(key)?.remove();
      trs.delete(key);
      data = data.filter((r) => rowKey(r) !== key);
      refreshEmpty();
    },
    rows: () => data,
  };
  api.setRows(rows);
  return api;
}
