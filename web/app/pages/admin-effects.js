// Staff with program-wide `program.view`: the effect queue (`listEffects`): the work
// the server does after answering (SMS, order fulfilment, follow-ups), with its tries
// and last error. By default every status, dead ones first (the API pages one status
// at a time, oldest first: the list reads the dead, then the pending, then the done).
// With `program.edit`, a dead effect is sent again (`retryEffect` answers it as it is
// after that try).

import { h } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { when, count } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { filterBar } from '../components/filters.js';
import { actionButton } from '../components/actions.js';
import { notify } from '../components/toast.js';

const STATUSES = ['dead', 'pending', 'done'];

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, tOr(`effects.status.${status}`, status));
}

/** When it runs next, or when it finished or gave up. */
function timing(e) {
  if (e.status === 'done') return t('effects.doneAt', { when: when(e.done_at) });
  if (e.status === 'dead') return t('effects.deadAt', { when: when(e.dead_at) });
  return t('effects.nextAt', { when: when(e.next_attempt_at) });
}

export function mount(root, { query }) {
  const editor = can('program.edit');

  const list = table({
    empty: t('effects.none'),
    columns: [
      { label: '#', numeric: true, render: (e) => String(e.id) },
      { label: t('effects.kind'), render: (e) => h('span', { class: 'mono' }, e.kind) },
      { label: t('effects.status'), render: (e) => statusBadge(e.status) },
      { label: t('effects.attempts'), numeric: true, render: (e) => count(e.attempts) },
      { label: t('effects.key'), wide: true, render: (e) => (e.dedupe_key ? h('span', { class: 'mono small' }, e.dedupe_key) : '') },
      { label: t('effects.created'), wide: true, render: (e) => when(e.created_at) },
      { label: t('effects.when'), render: timing },
      {
        label: t('effects.error'),
        render: (e) => (e.last_error ? h('div', { class: 'mono effect-error' }, e.last_error) : ''),
      },
      {
        label: t('common.actions'),
        render: (e) =>
          editor && e.status === 'dead'
            ? actionButton(
                t('effects.retry'),
                async () => {
                  const after = await api(`/effects/${e.id}/retry`, { method: 'POST' });
                  list.update(after);
                  notify(
                    t('effects.retried', { id: after.id, status: tOr(`effects.status.${after.status}`, after.status) }),
                    after.status === 'dead' ? 'error' : 'success',
                  );
                },
                { secondary: false, testid: 'retry' },
              )
            : '',
      },
    ],
  });

  const filters = filterBar({
    controls: [
      {
        name: 'status',
        label: t('effects.status'),
        type: 'select',
        value: query.get('status') ?? '',
        options: [
          { value: '', label: t('effects.allDeadFirst') },
          ...STATUSES.map((s) => ({ value: s, label: t(`effects.status.${s}`) })),
        ],
      },
      { name: 'kind', label: t('effects.kind'), type: 'search', value: query.get('kind') ?? '' },
    ],
    onChange: () => paged.reload(),
  });

  // The cursor is { status, cursor }: one status is paged to its end, then the next.
  const paged = pagedList({
    list,
    fetchPage: async (from, signal) => {
      const f = filters.values();
      const order = f.status ? [f.status] : STATUSES;
      let phase = from ? order.indexOf(from.status) : 0;
      let cursor = from?.cursor ?? null;
      const items = [];
      const limit = 50;
      // Fill the page across statuses, so "Load more" is offered only when there is more.
      while (phase < order.length) {
        const page = await api('/effects', {
          signal,
          query: { status: order[phase], kind: f.kind, cursor, limit: limit - items.length },
        });
        items.push(...page.items);
        if (page.next_cursor) return { items, next_cursor: { status: order[phase], cursor: page.next_cursor } };
        phase += 1;
        cursor = null;
        if (items.length >= limit) break;
      }
      return { items, next_cursor: phase < order.length ? { status: order[phase], cursor: null } : null };
    },
  });

  root.append(
    h('h1', null, t('effects.title')),
    h('p', { class: 'muted' }, t('effects.intro')),
    filters.el,
    paged.el,
  );
  return () => paged.abort();
}
