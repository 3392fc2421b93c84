// Admin / manager: participants with search and status filter; approve or reject
// pending registrations, block and unblock, adjust and award points; add a participant.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { filterBar } from '../components/filters.js';
import { formDialog, personActions, statusBadge } from '../components/actions.js';
import { storeLink } from '../components/names.js';

const STATUSES = ['pending', 'active', 'blocked'];

export function mount(root, { query }) {
  const list = table({
    empty: t('people.none'),
    columns: [
      { label: t('people.name'), render: (p) => h('a', { href: `/people/${p.id}` }, p.name) },
      { label: t('people.phone'), render: (p) => p.phone ?? '' },
      { label: t('people.login'), wide: true, render: (p) => p.login ?? '' },
      { label: t('people.store'), render: (p) => storeLink(p.store_id) },
      { label: t('people.status'), render: (p) => statusBadge(p.status) },
      // A row's action may change others (approving a group's owner): reload the page then.
      {
        label: t('common.actions'),
        render: (p) => personActions(p, (updated) => (updated ? list.update(updated) : paged.reload())),
      },
    ],
  });

  const filters = filterBar({
    controls: [
      { name: 'q', label: t('people.search'), type: 'search', value: query.get('q') ?? '' },
      {
        name: 'status',
        label: t('people.status'),
        type: 'select',
        value: query.get('status') ?? '',
        options: [
          { value: '', label: t('common.all') },
          ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
        ],
      },
    ],
    onChange: () => paged.reload(),
  });

  const storeId = query.get('store_id');
  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) =>
      api('/participants', { signal, query: { ...filters.values(), store_id: storeId, cursor, limit: 50 } }),
  });

  root.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, t('people.title')),
      can('participants.edit') ? h('button', { type: 'button', onclick: create }, t('people.create')) : null,
    ),
    filters.el,
    paged.el,
  );

  function create() {
    formDialog(t('people.create'), {
      fields: [
        { name: 'name', label: t('people.name'), required: true },
        { name: 'phone', label: t('people.phone'), type: 'tel', required: true, placeholder: '+79001234567' },
        { name: 'store_id', label: t('people.storeId'), type: 'number', required: true, attrs: { min: 1 } },
        {
          name: 'role',
          label: t('people.role'),
          type: 'select',
          options: [
            { value: 'seller', label: t('people.seller') },
            { value: 'owner', label: t('people.owner') },
          ],
        },
        { name: 'login', label: t('people.login'), autocomplete: 'off' },
        { name: 'password', label: t('login.password'), type: 'password', autocomplete: 'new-password' },
      ],
      submit: t('people.create'),
      idempotent: true,
      onSubmit: (v, { idempotencyKey }) =>
        api('/participants', {
          method: 'POST',
          idempotencyKey,
          body: {
            name: v.name,
            phone: v.phone,
            store_id: Number(v.store_id),
            role: v.role,
            login: v.login || null,
            password: v.password || null,
          },
        }),
      onSuccess: () => paged.reload(),
    });
  }

  return () => paged.abort();
}
