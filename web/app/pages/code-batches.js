// Printed codes (brand and admin): the program's code pools with how full they are and
// any refill running (`listCodePools`, `getCodePool`, `refillCodePool`), and ordering a
// batch of codes for a product (`createCodeBatch`), watched until it is issued, then
// downloaded as CSV for the printer (`downloadCodeBatch`). Pools and batches being
// worked on are read again every two seconds until they are done.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { count, when, percentOf } from '../format.js';
import { table } from '../components/table.js';
import { form } from '../components/form.js';
import { actionButton } from '../components/actions.js';
import { download } from '../components/download.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { bar } from '../components/standing.js';

const POLL_MS = 2_000;

export function mount(root) {
  const editor = can('codes.edit');
  let stopped = false;
  const timers = new Set();
  const later = (fn) => {
    const id = setTimeout(() => {
      timers.delete(id);
      if (!stopped) fn();
    }, POLL_MS);
    timers.add(id);
  };

  // --- pools ---
  const poolsBox = h('div', { 'aria-live': 'polite' });
  const pools = table({
    empty: t('printed.noPools'),
    columns: [
      { label: t('printed.pool'), render: (p) => p.name },
      {
        label: t('printed.available'),
        render: (p) =>
          bar(t('printed.available'), percentOf(p.available, p.target_size), t('printed.ofTarget', { n: count(p.available), target: count(p.target_size) })),
      },
      { label: t('printed.watermark'), numeric: true, wide: true, render: (p) => count(p.low_watermark) },
      {
        label: t('printed.refill'),
        render: (p) =>
          p.refill?.status === 'running'
            ? h('span', { 'data-testid': 'refill-running' }, t('printed.refilling', { done: count(p.refill.done), n: count(p.refill.requested) }))
            : p.refill
              ? t(`printed.refill.${p.refill.status}`, { when: when(p.refill.finished_at ?? p.refill.started_at) })
              : t('common.none'),
      },
      {
        label: t('common.actions'),
        render: (p) =>
          editor
            ? actionButton(t('printed.refillNow'), async () => {
                const started = await api(`/code-pools/${p.id}/refills`, { method: 'POST' });
                notify(t('printed.refillStarted', { id: started.refill_id }), 'success');
                await watchPool(p.id);
              }, { testid: 'refill' })
            : '',
      },
    ],
  });

  async function watchPool(id) {
    try {
      const status = await api(`/code-pools/${id}`);
      pools.update(status);
      if (status.refill?.status === 'running') later(() => watchPool(id));
    } catch (error) {
      replace(poolsBox, problemBox(error));
    }
  }

  async function loadPools() {
    try {
      const list = await api('/code-pools');
      const items = Array.isArray(list) ? list : (list?.items ?? []);
      pools.setRows(items);
      orderForm?.setOptions('pool_id', [{ value: '', label: t('printed.anyPool') }].concat(items.map((p) => ({ value: String(p.id), label: p.name }))));
      for (const p of items) watchPool(p.id);
    } catch (error) {
      replace(poolsBox, problemBox(error));
    }
  }

  // --- batches ---
  const batches = table({
    empty: t('printed.noBatches'),
    columns: [
      { label: '#', numeric: true, render: (b) => String(b.id) },
      { label: t('printed.product'), render: (b) => b.product_name ?? String(b.product_id) },
      { label: t('printed.quantity'), numeric: true, render: (b) => count(b.quantity) },
      {
        label: t('printed.progress'),
        render: (b) =>
          b.status === 'issued'
            ? h('span', { class: 'badge status-active', 'data-testid': 'batch-issued' }, t('printed.issued'))
            : bar(t('printed.progress'), percentOf(b.issued, b.quantity), t('printed.issuing', { done: count(b.issued), n: count(b.quantity) })),
      },
      { label: t('printed.ordered'), wide: true, render: (b) => when(b.created_at) },
      {
        label: t('common.actions'),
        render: (b) =>
          b.status === 'issued'
            ? actionButton(t('printed.download'), async () => {
                await download(`/code-batches/${b.id}/codes.csv`, `code-batch-${b.id}.csv`);
              }, { secondary: false, testid: 'download' })
            : '',
      },
    ],
  });

  /** Shows a batch: its row replaced, or added at the top when new. */
  function showBatch(batch) {
    if (batches.rows().some((b) => b.id === batch.id)) batches.update(batch);
    else batches.setRows([batch, ...batches.rows()]);
  }

  async function watchBatch(id, productName) {
    try {
      const batch = { ...(await api(`/code-batches/${id}`)), product_name: productName };
      showBatch(batch);
      if (batch.status !== 'issued') later(() => watchBatch(id, productName));
      else notify(t('printed.batchReady', { id }), 'success');
    } catch (error) {
      notify(error.detail ?? String(error), 'error');
    }
  }

  let productNames = new Map();
  const orderForm = editor
    ? form({
        fields: [
          { name: 'product_id', label: t('printed.product'), type: 'select', required: true, options: [] },
          { name: 'quantity', label: t('printed.quantity'), type: 'number', required: true, attrs: { min: 1, step: 1 } },
          { name: 'pool_id', label: t('printed.poolOptional'), type: 'select', options: [{ value: '', label: t('printed.anyPool') }] },
        ],
        submit: t('printed.order'),
        idempotent: true,
        validate: (v) => (/^[1-9]\d*$/.test(v.quantity) ? [] : [{ field: 'quantity', message: t('printed.quantityWhole') }]),
        onSubmit: (v, { idempotencyKey }) =>
          api('/code-batches', {
            method: 'POST',
            idempotencyKey,
            body: { product_id: Number(v.product_id), quantity: Number(v.quantity), pool_id: v.pool_id ? Number(v.pool_id) : null },
          }),
        onSuccess: (batch) => {
          const name = productNames.get(String(batch.product_id));
          showBatch({ ...batch, product_name: name });
          if (batch.status !== 'issued') later(() => watchBatch(batch.id, name));
        },
      })
    : null;

  async function loadProducts() {
    try {
      const page = await api('/products', { query: { limit: 200 } });
      const items = page?.items ?? [];
      productNames = new Map(items.map((p) => [String(p.id), `${p.sku} · ${p.name}`]));
      orderForm?.setOptions('product_id', items.map((p) => ({ value: String(p.id), label: `${p.sku} · ${p.name}` })));
    } catch (error) {
      notify(error.detail ?? String(error), 'error');
    }
  }

  root.append(
    h('h1', null, t('printed.adminTitle')),
    h('section', { class: 'card' }, h('h2', null, t('printed.pools')), pools.el, poolsBox),
    editor ? h('section', { class: 'card' }, h('h2', null, t('printed.orderTitle')), h('p', { class: 'muted' }, t('printed.orderIntro')), orderForm.el) : null,
    h('section', { class: 'card' }, h('h2', null, t('printed.batches')), batches.el),
  );
  loadPools();
  if (editor) loadProducts();

  return () => {
    stopped = true;
    for (const id of timers) clearTimeout(id);
  };
}
