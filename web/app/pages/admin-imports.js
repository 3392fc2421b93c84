// CSV imports of stores, participants, products and rewards (the form and its rules are in
// components/import-form.js): each kind offered to whoever may edit it.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { can } from '../session.js';
import { importForm } from '../components/import-form.js';

export const KINDS = [
  { value: 'stores', permission: 'stores.edit', columns: 'code,name[,address,region,partner]' },
  { value: 'participants', permission: 'participants.edit', columns: 'phone,name,store_code[,role,login]' },
  { value: 'products', permission: 'products.edit', columns: 'sku,name[,kind,pack_size,brand]' },
  {
    value: 'rewards',
    permission: 'rewards.edit',
    columns: 'sku,kind,title[,description,category,network,price,min_amount,max_amount,stock,active,brand]',
  },
];

export function mount(root) {
  const kinds = KINDS.filter((k) => can(k.permission));
  root.append(
    h('h1', null, t('import.title')),
    h('section', { class: 'card' }, h('p', { class: 'muted' }, t('import.intro')), importForm({ kinds }).el),
  );
}
