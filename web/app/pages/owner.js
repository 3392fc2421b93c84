// The owner's page: their stores, each with its live progress (`store:{id}` topic:
// today / week / month, plan attainment, sellers online), linking to the store page
// with its sellers.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import * as live from '../live.js';
import { progressCard } from '../components/progress.js';
import { problemBox } from '../components/problem.js';
import { statusBadge } from '../components/actions.js';

export function mount(root) {
  const list = h('div', { class: 'store-cards' }, h('p', { class: 'muted' }, t('common.loading')));
  root.append(h('h1', null, t('owner.title')), list);
  const stops = [];
  let left = false;

  api('/stores', { query: { limit: 50 } })
    .then((page) => {
      if (left) return;
      if (!page.items.length) return replace(list, h('p', { class: 'muted' }, t('owner.none')));
      replace(
        list,
        page.items.map((store) => storeCard(store, stops)),
      );
    })
    .catch((error) => replace(list, problemBox(error)));

  return () => {
    left = true;
    stops.forEach((stop) => stop());
  };
}

/** One store with its live progress; the subscription's stop goes into `stops`. */
function storeCard(store, stops) {
  const progress = progressCard();
  const note = h('div');
  stops.push(
    live.subscribe(`store:${store.id}`, (frame) => {
      if (frame.type === 'error') replace(note, problemBox({ detail: frame.message, code: frame.code }));
      else if (frame.data) progress.update(frame.data);
    }),
  );
  return h(
    'section',
    { class: 'card store-card', 'data-store': store.id },
    h('div', { class: 'card-head' }, h('h2', null, store.name), statusBadge(store.status)),
    h('p', { class: 'muted' }, [store.external_ref, store.address].filter(Boolean).join(' · ')),
    progress.el,
    note,
    h('p', null, h('a', { href: `/stores/${store.id}` }, t('owner.sellers'))),
  );
}
