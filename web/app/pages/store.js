// One store: its live progress and its sellers with each one's standing (level and
// balances). Owners reach it from their stores, managers and admins from the store list.
// Standings are refreshed when the store's progress moves (a seller earned something).

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api, inParallel } from '../api.js';
import { can } from '../session.js';
import * as live from '../live.js';
import { points } from '../format.js';
import { progressCard } from '../components/progress.js';
import { problemBox } from '../components/problem.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { statusBadge, storeActions } from '../components/actions.js';

export function mount(root, { params }) {
  const id = params.id;
  const heading = h('h1', null, t('store.title'));
  const facts = h('div');
  const progress = progressCard();
  const note = h('div');
  root.append(heading, facts, h('section', { class: 'card' }, h('h2', null, t('store.progress')), progress.el, note));

  const showStore = (store) => {
    replace(heading, store.name);
    replace(
      facts,
      h(
        'p',
        { class: 'store-facts' },
        statusBadge(store.status),
        ' ',
        [store.external_ref, store.address].filter(Boolean).join(' · '),
      ),
      storeActions(store, (updated) => updated && showStore(updated)),
    );
  };
  api(`/stores/${id}`)
    .then(showStore)
    .catch((error) => replace(facts, problemBox(error)));

  // Standings need points.view; without it the table shows the people only.
  const withStanding = can('points.view');
  const sellers = table({
    empty: t('store.noSellers'),
    columns: [
      {
        label: t('people.name'),
        render: (p) => (can('participants.view') ? h('a', { href: `/people/${p.id}` }, p.name) : p.name),
      },
      { label: t('people.phone'), wide: true, render: (p) => p.phone ?? '' },
      { label: t('people.status'), render: (p) => statusBadge(p.status) },
      ...(withStanding
        ? [
            { label: t('standing.level'), render: (p) => p.standing?.level.name ?? '' },
            {
              label: t('standing.available'),
              numeric: true,
              render: (p) => (p.standing ? points(p.standing.balance.available) : ''),
            },
            {
              label: t('standing.lifetime'),
              numeric: true,
              wide: true,
              render: (p) => (p.standing ? points(p.standing.balance.lifetime) : ''),
            },
          ]
        : []),
    ],
  });

  async function withStandings(people) {
    if (!withStanding) return people;
    const results = await inParallel(
      people.map((p) => () => api(`/participants/${p.id}/standing`)),
      4,
    );
    return people.map((p, i) => ({ ...p, standing: results[i].ok ? results[i].value : null }));
  }

  const paged = pagedList({
    list: sellers,
    fetchPage: async (cursor, signal) => {
      const page = await api('/participants', { signal, query: { store_id: id, cursor, limit: 50 } });
      return { ...page, items: await withStandings(page.items) };
    },
  });
  root.append(h('section', { class: 'card' }, h('h2', null, t('store.sellers')), paged.el));

  const refreshStandings = debounce(async () => {
    for (const person of await withStandings(sellers.rows())) sellers.update(person);
  }, 1000);

  let first = true;
  const stop = live.subscribe(`store:${id}`, (frame) => {
    if (frame.type === 'error') return replace(note, problemBox({ detail: frame.message, code: frame.code }));
    progress.update(frame.data);
    if (!first) refreshStandings();
    first = false;
  });

  return () => {
    stop();
    paged.abort();
    refreshStandings.cancel();
  };
}
