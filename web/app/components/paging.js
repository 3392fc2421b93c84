// Cursor paging for every list of the API (`items` + `next_cursor`): loads the first
// page, then more on "Load more". A reload (new filters) cancels a page still loading,
// so a slow old answer never lands under new filters.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { problemBox } from './problem.js';

/**
 * `fetchPage(cursor, signal)` → { items, next_cursor }; `list` has `setRows` / `append`
 * (a `table`). Returns { el, reload() }; `el` holds the list, errors and the button.
 */
export function pagedList({ fetchPage, list }) {
  const status = h('div', { class: 'paging-status', 'aria-live': 'polite' });
  const more = h(
    'button',
    { type: 'button', class: 'secondary', hidden: true, onclick: () => load(false) },
    t('common.loadMore'),
  );
  let cursor = null;
  let controller = null;

  async function load(first) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    more.disabled = true;
    replace(status, first ? t('common.loading') : '');
    try {
      const page = await fetchPage(first ? null : cursor, mine.signal);
      if (mine.signal.aborted) return;
      if (first) list.setRows(page.items);
      else list.append(page.items);
      cursor = page.next_cursor ?? null;
      more.hidden = !cursor;
      replace(status);
    } catch (error) {
      if (error.name === 'AbortError') return;
      if (first) list.setRows([]);
      replace(status, problemBox(error));
    } finally {
      if (controller === mine) more.disabled = false;
    }
  }

  load(true);
  return {
    el: h('div', { class: 'paged' }, list.el, status, h('div', { class: 'paging-more' }, more)),
    reload: () => load(true),
    abort: () => controller?.abort(),
  };
}
