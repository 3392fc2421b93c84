// A list of cards for `pagedList`, where a table would not do (a showcase, orders on a
// phone): the same `setRows` / `append` / `update` / `remove` as `table`, keyed rows,
// and a text when there is nothing to show.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';

/**
 * `render(item)` → the card's node; `key(item)` (default `item.id`); `empty`: a text
 * or node for no items; `className`: the list's class (a grid, a column).
 * Returns { el, setRows, append, update, remove, rows(), node(key) }.
 */
export function cardList({ render, key = (item) => item.id, empty = t('common.empty'), className = 'cards' }) {
  const el = h('div', { class: className });
  const emptyEl = h('p', { class: 'muted cards-empty' }, empty);
  const nodes = new Map();
  let data = [];

  function refreshEmpty() {
    if (data.length === 0) el.append(emptyEl);
    else emptyEl.remove();
  }

  const api = {
    el,
    setRows(items) {
      data = [];
      nodes.clear();
      replace(el);
      api.append(items);
    },
    /** Adds items at the end; an item already shown is replaced in place instead. */
    append(items) {
      for (const item of items) {
        if (nodes.has(key(item))) {
          api.update(item);
          continue;
        }
        const node = render(item);
        data.push(item);
        nodes.set(key(item), node);
        el.append(node);
      }
      refreshEmpty();
    },
    update(item) {
      const old = nodes.get(key(item));
      if (!old) return;
      const node = render(item);
      old.replaceWith(node);
      nodes.set(key(item), node);
      data = data.map((d) => (key(d) === key(item) ? item : d));
    },
    remove(k) {
      nodes.get(k)?.remove();
      nodes.delete(k);
      data = data.filter((d) => key(d) !== k);
      refreshEmpty();
    },
    rows: () => data,
    node: (k) => nodes.get(k),
  };
  refreshEmpty();
  return api;
}
