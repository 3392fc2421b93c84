// Names for ids that lists carry (a participant's `store_id`): fetched once per id and
// tab, shown as a link that starts as "#id" and becomes the name when it arrives.

import { h } from '../dom.js';
import { api } from '../api.js';
import { can } from '../session.js';

const stores = new Map(); // id → Promise<name | null>

/** A link to the store page, labelled with the store's name. */
export function storeLink(id) {
  if (!id) return '';
  const link = h('a', { href: `/stores/${id}` }, `#${id}`);
  if (!can('stores.view')) return link;
  if (!stores.has(id))
    stores.set(
      id,
      api(`/stores/${id}`).then(
        (s) => s.name,
        () => null,
      ),
    );
  stores.get(id).then((name) => {
    if (name) link.textContent = name;
  });
  return link;
}
