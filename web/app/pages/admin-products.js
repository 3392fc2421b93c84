// The product catalog (brand and admin): products with their SKU, kind and pack size
// (`listProducts`, a brand sees its own), a new or changed product by SKU
// (`createProduct` updates a known SKU), and the way to the CSV import.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { count, when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { formDialog } from '../components/actions.js';
import { notify } from '../components/toast.js';

export function mount(root) {
  const editor = can('products.edit');
  const list = table({
    empty: t('products.none'),
    columns: [
      { label: t('products.sku'), render: (p) => h('span', { class: 'mono', 'data-sku': p.sku }, p.sku) },
      { label: t('products.name'), render: (p) => p.name },
      { label: t('products.kind'), wide: true, render: (p) => p.kind || t('common.none') },
      { label: t('products.packSize'), numeric: true, render: (p) => count(p.pack_size) },
      { label: t('products.updated'), wide: true, render: (p) => when(p.updated_at) },
    ],
  });
  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/products', { query: { cursor, limit: 100 }, signal }),
  });
  const create = editor
    ? h(
        'button',
        {
          type: 'button',
          'data-action': 'create-product',
          onclick: () =>
            formDialog(t('products.create'), {
              fields: [
                { name: 'sku', label: t('products.sku'), required: true, hint: t('products.skuHint') },
                { name: 'name', label: t('products.name'), required: true },
                { name: 'kind', label: t('products.kind') },
                { name: 'pack_size', label: t('products.packSize'), type: 'number', value: '1', attrs: { min: 1, step: 1 } },
              ],
              submit: t('common.save'),
              validate: (v) =>
                v.pack_size === '' || /^[1-9]\d*$/.test(v.pack_size)
                  ? []
                  : [{ field: 'pack_size', message: t('products.packSizeWhole') }],
              onSubmit: (v) =>
                api('/products', {
                  method: 'POST',
                  body: { sku: v.sku, name: v.name, kind: v.kind, pack_size: v.pack_size ? Number(v.pack_size) : null },
                }),
              onSuccess: (product) => {
                notify(t('products.saved', { sku: product.sku }), 'success');
                paged.reload();
              },
            }),
        },
        t('products.create'),
      )
    : null;
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, t('products.title')), create),
    editor ? h('p', { class: 'muted' }, t('products.importHint'), ' ', h('a', { href: '/admin/imports' }, t('nav.imports'))) : null,
    h('section', { class: 'card' }, paged.el),
  );
  return () => paged.abort();
}
