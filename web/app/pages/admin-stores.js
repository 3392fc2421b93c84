// Admin / manager: the stores they may see, with search and filters; connect,
// disconnect and block; create a store (an INN looks the company up in the register to
// fill the name and address: `lookupCompany`; the store does not keep the INN, so it
// is not sent); make invitation codes for a store.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { points, when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { filterBar } from '../components/filters.js';
import { namedOptions } from '../components/form.js';
import { formDialog, actionButton, storeActions, statusBadge } from '../components/actions.js';
import { openDialog } from '../components/dialog.js';
import { attachCompanyLookup, companyName } from '../components/company.js';

const STATUSES = ['pending', 'connected', 'disconnected', 'blocked'];

export function mount(root) {
  const regions = new Map();
  let regionList = [];
  let partnerList = [];

  const list = table({
    empty: t('stores.none'),
    columns: [
      { label: t('stores.code'), render: (s) => s.external_ref ?? '' },
      { label: t('stores.name'), render: (s) => h('a', { href: `/stores/${s.id}` }, s.name) },
      { label: t('stores.address'), wide: true, render: (s) => s.address },
      { label: t('stores.region'), render: (s) => regions.get(s.region_id) ?? '' },
      {
        label: t('stores.plan'),
        numeric: true,
        wide: true,
        render: (s) => (s.monthly_plan ? points(s.monthly_plan) : ''),
      },
      { label: t('people.status'), render: (s) => statusBadge(s.status) },
      {
        label: t('common.actions'),
        render: (s) =>
          h(
            'div',
            { class: 'row-actions' },
            storeActions(s, (updated) => updated && list.update(updated)),
            inviteButton(s),
          ),
      },
    ],
  });

  const filters = filterBar({
    controls: [
      { name: 'q', label: t('common.search'), type: 'search' },
      {
        name: 'status',
        label: t('people.status'),
        type: 'select',
        options: [
          { value: '', label: t('common.all') },
          ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
        ],
      },
    ],
    onChange: () => paged.reload(),
  });

  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/stores', { signal, query: { ...filters.values(), cursor, limit: 50 } }),
  });

  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', null, t('stores.title')),
    can('stores.edit') ? h('button', { type: 'button', onclick: createStore }, t('stores.create')) : null,
  );
  root.append(head, filters.el, paged.el);

  // Region names for the table, and choices for the create form.
  const optional = (permission, path) => (can(permission) ? api(path).catch(() => []) : Promise.resolve([]));
  Promise.all([optional('regions.view', '/regions'), optional('partners.view', '/partners')]).then(([r, p]) => {
    regionList = r;
    partnerList = p;
    r.forEach((region) => regions.set(region.id, region.name));
    list.setRows(list.rows());
  });

  function createStore() {
    const f = formDialog(t('stores.create'), {
      fields: [
        {
          name: 'inn',
          label: t('company.inn'),
          hint: t('company.storeHint'),
          autocomplete: 'off',
          attrs: { inputmode: 'numeric', maxlength: 16, spellcheck: 'false' },
        },
        { name: 'name', label: t('stores.name'), required: true },
        { name: 'address', label: t('stores.address') },
        { name: 'external_ref', label: t('stores.code'), hint: t('stores.codeHint') },
        {
          name: 'region_id',
          label: t('stores.region'),
          type: 'select',
          options: namedOptions(regionList, { none: t('common.none') }),
        },
        {
          name: 'partner_id',
          label: t('stores.partner'),
          type: 'select',
          options: namedOptions(partnerList, { none: t('common.none') }),
        },
        { name: 'monthly_plan', label: t('stores.plan'), type: 'amount', hint: t('stores.planHint') },
      ],
      submit: t('stores.create'),
      idempotent: true,
      onSubmit: (v, { idempotencyKey }) =>
        api('/stores', {
          method: 'POST',
          idempotencyKey,
          body: {
            name: v.name,
            address: v.address,
            external_ref: v.external_ref || null,
            region_id: v.region_id ? Number(v.region_id) : null,
            partner_id: v.partner_id ? Number(v.partner_id) : null,
            monthly_plan: v.monthly_plan || null,
          },
        }),
      onSuccess: () => paged.reload(),
    });
    f.el.dataset.testid = 'store-form';
    attachCompanyLookup(f, { fill: { name: companyName, address: (company) => company.address ?? '' } });
  }

  return () => paged.abort();
}

/** "Invite": a code that lets sellers join this store at once. */
function inviteButton(store) {
  if (!can('participants.edit') || store.status !== 'connected') return null;
  return actionButton(
    t('invite.button'),
    async () => {
      formDialog(t('invite.title', { name: store.name }), {
        fields: [
          { name: 'max_uses', label: t('invite.maxUses'), type: 'number', value: '1', attrs: { min: 1, max: 1000 } },
          {
            name: 'expires_in_days',
            label: t('invite.days'),
            type: 'number',
            value: '30',
            attrs: { min: 1, max: 365 },
          },
        ],
        submit: t('invite.create'),
        idempotent: true,
        onSubmit: (v, { idempotencyKey }) =>
          api(`/stores/${store.id}/invitations`, {
            method: 'POST',
            idempotencyKey,
            body: { max_uses: Number(v.max_uses) || null, expires_in_days: Number(v.expires_in_days) || null },
          }),
        onSuccess: (invitation) => {
          const code = h('code', { class: 'invite-code' }, invitation.code);
          openDialog({
            title: t('invite.created'),
            content: h(
              'div',
              null,
              code,
              h(
                'p',
                { class: 'muted' },
                t('invite.facts', { uses: invitation.max_uses, until: when(invitation.expires_at) }),
              ),
              h(
                'div',
                { class: 'actions' },
                h(
                  'button',
                  { type: 'button', onclick: () => navigator.clipboard?.writeText(invitation.code) },
                  t('invite.copy'),
                ),
              ),
            ),
          });
        },
      });
    },
    { testid: 'invite' },
  );
}
