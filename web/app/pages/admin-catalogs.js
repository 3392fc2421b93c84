// The program's reference lists (`listRegions`, `listPartners`, `listBrands`): what
// stores, people, campaigns and reports are grouped by. Each list shows to those who
// may view its section; with the section's edit permission an entry is added
// (`createRegion`, `createPartner`, `createBrand`, each with an Idempotency-Key). A new
// partner's INN looks the company up in the register to fill its name
// (`lookupCompany`); partners do not keep the INN, so it is not sent.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can, canAny } from '../session.js';
import { when } from '../format.js';
import { table } from '../components/table.js';
import { form } from '../components/form.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { attachCompanyLookup, companyName } from '../components/company.js';

const CATALOGS = [
  { section: 'regions', path: '/regions' },
  { section: 'partners', path: '/partners' },
  { section: 'brands', path: '/brands' },
];

function catalogCard({ section, path }) {
  const list = table({
    empty: t(`catalogs.${section}.none`),
    keep: true,
    columns: [
      { label: t('catalogs.name'), render: (item) => h('span', { 'data-item': item.name }, item.name) },
      { label: t('catalogs.added'), wide: true, render: (item) => when(item.created_at) },
    ],
  });
  const status = h('div', { 'aria-live': 'polite' });
  async function load() {
    try {
      const items = await api(path);
      list.setRows([...items].sort((a, b) => a.name.localeCompare(b.name)));
      replace(status);
    } catch (error) {
      replace(status, problemBox(error));
    }
  }
  // A partner is a company: its INN fills the name from the register.
  const lookup = section === 'partners';
  const add = can(`${section}.edit`)
    ? form({
        className: 'inline-form',
        fields: [
          ...(lookup
            ? [
                {
                  name: 'inn',
                  label: t('company.inn'),
                  hint: t('company.partnerHint'),
                  autocomplete: 'off',
                  attrs: { inputmode: 'numeric', maxlength: 16, spellcheck: 'false' },
                },
              ]
            : []),
          { name: 'name', label: t(`catalogs.${section}.new`), required: true },
        ],
        submit: t('catalogs.add'),
        idempotent: true,
        resetOnSuccess: true,
        onSubmit: (v, { idempotencyKey }) => api(path, { method: 'POST', idempotencyKey, body: { name: v.name } }),
        onSuccess: (item) => {
          notify(t('catalogs.addedToast', { name: item.name }), 'success');
          load();
        },
      })
    : null;
  if (add && lookup) attachCompanyLookup(add, { fill: { name: companyName } });
  load();
  return h(
    'section',
    { class: 'card', 'data-catalog': section },
    h('h2', null, t(`catalogs.${section}.title`)),
    list.el,
    status,
    add?.el,
  );
}

export function mount(root) {
  root.append(
    h('h1', null, t('catalogs.title')),
    h('p', { class: 'muted' }, t('catalogs.intro')),
    ...CATALOGS.filter(({ section }) => canAny(`${section}.view`, `${section}.edit`)).map(catalogCard),
  );
}
