// Campaigns (brand and admin): the campaigns the person may see (`listCampaigns`),
// created as drafts with their dates, prize fund and the points each product pays
// (`createCampaign`), started, paused, resumed and finished (`updateCampaign` with
// `status`), and their fund raised (`budget`). A brand sees and runs its own campaigns.

import { h } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { points, when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { actionButton, formDialog } from '../components/actions.js';
import { confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';

/** What a campaign may become from where it is (the server checks the same). */
const NEXT = {
  draft: ['active', 'finished'],
  active: ['paused', 'finished'],
  paused: ['active', 'finished'],
  finished: [],
};

function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, tOr(`campaigns.status.${status}`, status));
}

/** `"AQ-MIX-100=2.50, AQ-FLT-10=1"` → [{ product_id, points_per_unit }] by SKU. */
function parseProducts(text, bySku) {
  const products = [];
  const errors = [];
  for (const part of text.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean)) {
    const [sku, amount] = part.split('=').map((s) => s.trim());
    const product = bySku.get(sku);
    if (!product || !/^\d+(\.\d{1,2})?$/.test(amount ?? '')) errors.push(part);
    else products.push({ product_id: product.id, points_per_unit: amount });
  }
  return { products, errors };
}

export function mount(root) {
  const editor = can('campaigns.edit');
  let bySku = new Map();

  function actions(c) {
    if (!editor) return '';
    const buttons = NEXT[c.status].map((next) =>
      actionButton(
        t(`campaigns.to.${next}`),
        async () => {
          if (next === 'finished' && !(await confirmDialog(t('campaigns.finishSure', { name: c.name }), { danger: true }))) return;
          const updated = await api(`/campaigns/${c.id}`, { method: 'PATCH', body: { status: next } });
          list.update(updated);
          notify(t('campaigns.changed', { name: updated.name, status: tOr(`campaigns.status.${updated.status}`, updated.status) }), 'success');
        },
        { danger: next === 'finished', testid: `to-${next}` },
      ),
    );
    if (c.status !== 'finished')
      buttons.push(
        actionButton(t('campaigns.raiseBudget'), async () => {
          formDialog(t('campaigns.raiseBudget'), {
            fields: [{ name: 'budget', label: t('campaigns.budget'), type: 'amount', required: true, value: c.budget }],
            submit: t('common.save'),
            onSubmit: (v) => api(`/campaigns/${c.id}`, { method: 'PATCH', body: { budget: v.budget } }),
            onSuccess: (updated) => list.update(updated),
          });
        }, { testid: 'budget' }),
      );
    return h('div', { class: 'row-actions' }, buttons);
  }

  const list = table({
    empty: t('campaigns.none'),
    columns: [
      { label: t('campaigns.name'), render: (c) => h('span', { 'data-campaign': c.name }, c.name) },
      { label: t('campaigns.period'), render: (c) => `${c.starts_on} — ${c.ends_on}` },
      { label: t('campaigns.statusLabel'), render: (c) => statusBadge(c.status) },
      { label: t('campaigns.budget'), numeric: true, render: (c) => points(c.budget) },
      { label: t('campaigns.fund'), numeric: true, wide: true, render: (c) => points(c.fund_balance) },
      {
        label: t('campaigns.products'),
        wide: true,
        render: (c) => c.products.map((p) => `${p.sku}: ${points(p.points_per_unit)}`).join(', ') || t('common.none'),
      },
      { label: t('campaigns.updated'), wide: true, render: (c) => when(c.updated_at) },
      { label: t('common.actions'), render: actions },
    ],
  });
  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/campaigns', { query: { cursor, limit: 50 }, signal }),
  });

  const create = editor
    ? h(
        'button',
        {
          type: 'button',
          'data-action': 'create-campaign',
          onclick: () =>
            formDialog(t('campaigns.create'), {
              fields: [
                { name: 'name', label: t('campaigns.name'), required: true },
                { name: 'description', label: t('campaigns.description'), type: 'textarea', rows: 2 },
                { name: 'starts_on', label: t('campaigns.startsOn'), type: 'date', required: true },
                { name: 'ends_on', label: t('campaigns.endsOn'), type: 'date', required: true },
                { name: 'budget', label: t('campaigns.budget'), type: 'amount', required: true },
                {
                  name: 'ranking',
                  label: t('campaigns.ranking'),
                  type: 'select',
                  value: 'points',
                  options: ['points', 'plan_percent'].map((r) => ({ value: r, label: t(`campaigns.ranking.${r}`) })),
                },
                { name: 'products', label: t('campaigns.productPoints'), type: 'textarea', rows: 3, hint: t('campaigns.productPointsHint', { skus: [...bySku.keys()].slice(0, 3).join(', ') }) },
              ],
              submit: t('campaigns.createDraft'),
              idempotent: true,
              validate: (v) => {
                const { errors } = parseProducts(v.products, bySku);
                const problems = errors.length ? [{ field: 'products', message: t('campaigns.badProducts', { parts: errors.join(', ') }) }] : [];
                if (v.ends_on && v.starts_on && v.ends_on < v.starts_on) problems.push({ field: 'ends_on', message: t('campaigns.endBeforeStart') });
                return problems;
              },
              onSubmit: (v, { idempotencyKey }) =>
                api('/campaigns', {
                  method: 'POST',
                  idempotencyKey,
                  body: {
                    name: v.name,
                    description: v.description,
                    starts_on: v.starts_on,
                    ends_on: v.ends_on,
                    budget: v.budget,
                    ranking: v.ranking,
                    products: parseProducts(v.products, bySku).products,
                  },
                }),
              onSuccess: (created) => {
                notify(t('campaigns.created', { name: created.name }), 'success');
                paged.reload();
              },
            }),
        },
        t('campaigns.create'),
      )
    : null;

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, t('campaigns.title')), create),
    h('section', { class: 'card' }, paged.el),
  );

  if (editor)
    api('/products', { query: { limit: 200 } })
      .then((page) => {
        bySku = new Map((page?.items ?? []).map((p) => [p.sku, p]));
      })
      .catch(() => {});

  return () => paged.abort();
}
