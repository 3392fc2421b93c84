// Staff: the rewards catalog (`listRewards` lists every reward the caller manages),
// filtered by category and kind; with `rewards.edit`, a new reward, a change (the full
// reward is sent again: `updateReward` replaces it) and a CSV import (checked first).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { points, count, when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { filterBar } from '../components/filters.js';
import { checkGroup, namedOptions } from '../components/form.js';
import { formDialog, actionButton } from '../components/actions.js';
import { importForm } from '../components/import-form.js';
import { notify } from '../components/toast.js';
import { KINDS, kindBadge, kindLabel } from '../components/rewards.js';
import { KINDS as IMPORT_KINDS } from './admin-imports.js';

/** Participant roles a reward may be limited to. */
const ROLES = ['seller', 'owner'];

/** Epoch ms ↔ the value of an <input type=datetime-local> (local time). */
function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(value) {
  return value ? new Date(value).getTime() : null;
}

export function mount(root) {
  const editor = can('rewards.edit');
  const brands = new Map();
  let brandList = [];
  let regionList = [];
  let levelList = [];

  const list = table({
    empty: t('rewards.none'),
    columns: [
      { label: t('rewardsAdmin.sku'), render: (r) => h('span', { class: 'mono' }, r.sku) },
      { label: t('rewardsAdmin.name'), render: (r) => h('strong', null, r.title) },
      { label: t('rewards.kind'), render: (r) => kindBadge(r.kind) },
      { label: t('rewards.category'), wide: true, render: (r) => r.category },
      {
        label: t('rewardsAdmin.price'),
        numeric: true,
        render: (r) =>
          r.price ? points(r.price) : t('rewards.range', { min: points(r.min_amount), max: points(r.max_amount) }),
      },
      {
        label: t('rewardsAdmin.stock'),
        numeric: true,
        render: (r) => (r.stock === null || r.stock === undefined ? t('rewardsAdmin.unlimited') : count(r.stock)),
      },
      {
        label: t('effects.status'),
        render: (r) => [
          h(
            'span',
            { class: `badge status-${r.active ? 'active' : 'disconnected'}` },
            r.active ? t('rewardsAdmin.active') : t('rewardsAdmin.inactive'),
          ),
          r.active_from || r.active_to
            ? h('div', { class: 'muted small' }, `${when(r.active_from)} – ${when(r.active_to)}`)
            : null,
        ],
      },
      { label: t('rewardsAdmin.brand'), wide: true, render: (r) => (r.brand_id ? (brands.get(r.brand_id) ?? `#${r.brand_id}`) : '') },
      {
        label: t('common.actions'),
        render: (r) =>
          editor
            ? h(
                'div',
                { class: 'row-actions' },
                actionButton(t('rewardsAdmin.edit'), async () => edit(r), { testid: 'edit' }),
              )
            : '',
      },
    ],
  });

  const filters = filterBar({
    controls: [
      { name: 'category', label: t('rewards.category'), type: 'select', options: [{ value: '', label: t('common.all') }] },
      {
        name: 'kind',
        label: t('rewards.kind'),
        type: 'select',
        options: [{ value: '', label: t('common.all') }, ...KINDS.map((k) => ({ value: k, label: kindLabel(k) }))],
      },
    ],
    onChange: () => paged.reload(),
  });

  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/rewards', { signal, query: { ...filters.values(), cursor, limit: 50 } }),
  });

  const importPanel = editor
    ? h(
        'details',
        { class: 'card import-panel' },
        h('summary', null, t('rewardsAdmin.import')),
        h('p', { class: 'muted' }, t('import.intro')),
        importForm({
          kinds: IMPORT_KINDS.filter((k) => k.value === 'rewards'),
          onImported: () => {
            paged.reload();
            loadCategories();
          },
        }).el,
      )
    : null;

  root.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, t('rewardsAdmin.title')),
      editor ? h('button', { type: 'button', onclick: () => edit(null) }, t('rewardsAdmin.create')) : null,
    ),
    importPanel,
    filters.el,
    paged.el,
  );

  function loadCategories() {
    api('/rewards/categories')
      .then((c) =>
        filters.setOptions('category', [
          { value: '', label: t('common.all') },
          ...c.items.map((name) => ({ value: name, label: name })),
        ]),
      )
      .catch(() => {});
  }
  loadCategories();

  // Names for brands, and choices for the form (what the caller may not read is left out).
  const optional = (permission, path) => (can(permission) ? api(path).catch(() => null) : Promise.resolve(null));
  Promise.all([
    optional('brands.view', '/brands'),
    optional('regions.view', '/regions'),
    canAnyProgram() ? api('/program').catch(() => null) : Promise.resolve(null),
  ]).then(([b, r, program]) => {
    brandList = b ?? [];
    regionList = r ?? [];
    levelList = (program?.levels ?? []).map((level, index) => ({ value: index, label: level.name }));
    brandList.forEach((brand) => brands.set(brand.id, brand.name));
    list.setRows(list.rows());
  });

  /** The create (reward = null) or edit dialog. */
  function edit(reward) {
    const r = reward ?? {};
    const regions = checkGroup(
      regionList.map((x) => ({ value: x.id, label: x.name })),
      r.regions ?? [],
      { label: t('rewardsAdmin.regions') },
    );
    const levels = checkGroup(levelList, r.levels ?? [], { label: t('rewardsAdmin.levels') });
    const roles = checkGroup(
      ROLES.map((role) => ({ value: role, label: t(`role.${role}`) })),
      r.roles ?? [],
      { label: t('rewardsAdmin.roles') },
    );
    const f = formDialog(reward ? t('rewardsAdmin.editTitle', { title: reward.title }) : t('rewardsAdmin.create'), {
      className: 'form-wide',
      fields: [
        { name: 'sku', label: t('rewardsAdmin.sku'), required: true, value: r.sku, hint: t('rewardsAdmin.skuHint') },
        {
          name: 'kind',
          label: t('rewards.kind'),
          type: 'select',
          required: true,
          value: r.kind ?? 'gift_certificate',
          options: KINDS.map((k) => ({ value: k, label: kindLabel(k) })),
        },
        { name: 'title', label: t('rewardsAdmin.name'), required: true, value: r.title },
        { name: 'description', label: t('rewardsAdmin.description'), type: 'textarea', rows: 3, value: r.description },
        { name: 'category', label: t('rewards.category'), value: r.category },
        { name: 'network', label: t('rewardsAdmin.network'), value: r.network },
        { name: 'price', label: t('rewardsAdmin.price'), type: 'amount', value: r.price, hint: t('rewardsAdmin.priceHint') },
        { name: 'min_amount', label: t('rewardsAdmin.minAmount'), type: 'amount', value: r.min_amount },
        { name: 'max_amount', label: t('rewardsAdmin.maxAmount'), type: 'amount', value: r.max_amount },
        {
          name: 'stock',
          label: t('rewardsAdmin.stock'),
          type: 'number',
          inputmode: 'numeric',
          value: r.stock ?? '',
          hint: t('rewardsAdmin.stockHint'),
          attrs: { min: 0, step: 1 },
        },
        {
          name: 'regions',
          label: t('rewardsAdmin.regions'),
          type: 'custom',
          control: regions,
          hint: t('rewardsAdmin.audienceHint'),
        },
        { name: 'levels', label: t('rewardsAdmin.levels'), type: 'custom', control: levels },
        { name: 'roles', label: t('rewardsAdmin.roles'), type: 'custom', control: roles },
        { name: 'active_from', label: t('rewardsAdmin.from'), type: 'datetime-local', value: toLocalInput(r.active_from) },
        { name: 'active_to', label: t('rewardsAdmin.to'), type: 'datetime-local', value: toLocalInput(r.active_to) },
        {
          name: 'brand_id',
          label: t('rewardsAdmin.brand'),
          type: 'select',
          value: r.brand_id ?? '',
          options: namedOptions(
            // A brand the caller cannot list stays selectable as "#id".
            r.brand_id && !brands.has(r.brand_id) ? [...brandList, { id: r.brand_id, name: `#${r.brand_id}` }] : brandList,
            { none: t('rewardsAdmin.noBrand') },
          ),
        },
        { name: 'active', label: t('rewardsAdmin.active'), type: 'checkbox', value: reward ? reward.active : true },
      ],
      submit: reward ? t('common.save') : t('rewardsAdmin.create'),
      idempotent: !reward,
      validate: (v) => {
        const errors = [];
        const range = v.min_amount || v.max_amount;
        if (v.price && range) errors.push({ field: 'price', message: t('rewardsAdmin.priceOrRange') });
        if (!v.price && !(v.min_amount && v.max_amount))
          errors.push({ field: v.min_amount ? 'max_amount' : 'price', message: t('rewardsAdmin.priceOrRange') });
        if (v.stock !== '' && !/^\d+$/.test(v.stock)) errors.push({ field: 'stock', message: t('rewardsAdmin.stockWhole') });
        return errors;
      },
      onSubmit: async (v, { idempotencyKey }) => {
        const body = {
          sku: v.sku,
          kind: v.kind,
          title: v.title,
          description: v.description,
          category: v.category,
          network: v.network || null,
          price: v.price || null,
          min_amount: v.price ? null : v.min_amount || null,
          max_amount: v.price ? null : v.max_amount || null,
          stock: v.stock === '' ? null : Number(v.stock),
          // Not edited here: kept as it is (the body replaces the whole reward).
          picture: r.picture ?? null,
          regions: v.regions.map(Number),
          levels: v.levels.map(Number),
          roles: v.roles,
          active_from: fromLocalInput(v.active_from),
          active_to: fromLocalInput(v.active_to),
          active: v.active,
          brand_id: v.brand_id ? Number(v.brand_id) : null,
        };
        try {
          return reward
            ? await api(`/rewards/${reward.id}`, { method: 'PUT', body })
            : await api('/rewards', { method: 'POST', body, idempotencyKey });
        } catch (error) {
          // "The SKU exists" belongs next to the SKU.
          if (error.code === 'conflict' && !error.errors.length) error.errors = [{ field: 'sku', message: error.detail }];
          throw error;
        }
      },
      onSuccess: (saved) => {
        notify(t(reward ? 'rewardsAdmin.saved' : 'rewardsAdmin.created', { title: saved.title }), 'success');
        if (reward) list.update(saved);
        else paged.reload();
        loadCategories();
      },
    });
    return f;
  }

  return () => paged.abort();
}

/** Whether the program's levels can be read (to name them in the audience). */
function canAnyProgram() {
  return can('program.view') || can('program.edit');
}
