// Reports (`downloadReport`): staff (and owners, for their stores) pick a report, a
// period and optional filters and download it as Excel or CSV. The rows the server
// lists are what the person's `reports.view` scope reaches; the filter lists show what
// this person may pick. The file is fetched with the session's token and saved.

import { h, replace } from '../dom.js';
import { t, locale } from '../i18n.js';
import { api } from '../api.js';
import { form } from '../components/form.js';
import { download } from '../components/download.js';
import { notify } from '../components/toast.js';

const REPORTS = ['participants', 'transactions', 'sales', 'task_completions', 'orders'];
// Filters a report has no column for are not offered (the server refuses them).
const NO_BRAND = new Set(['participants', 'orders']);

/** `YYYY-MM-DD` of a local date. */
function isoDay(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Options of a select from a list call; an empty list when the person may not read it. */
async function choices(path) {
  try {
    const found = await api(path);
    const items = Array.isArray(found) ? found : (found?.items ?? []);
    return items.map((item) => ({ value: String(item.id), label: item.name }));
  } catch {
    return [];
  }
}

export function mount(root) {
  const today = new Date();
  const firstOfMonth = new Date(today.getFullYear(), today.getMonth(), 1);
  const any = [{ value: '', label: t('reports.any') }];
  const status = h('p', { class: 'muted', 'aria-live': 'polite', 'data-testid': 'report-status' });

  const f = form({
    fields: [
      {
        name: 'report',
        label: t('reports.report'),
        type: 'select',
        value: 'transactions',
        options: REPORTS.map((r) => ({ value: r, label: t(`reports.kind.${r}`) })),
        hint: t('reports.hint'),
      },
      { name: 'from', label: t('reports.from'), type: 'date', required: true, value: isoDay(firstOfMonth) },
      { name: 'to', label: t('reports.to'), type: 'date', required: true, value: isoDay(today) },
      { name: 'region_id', label: t('reports.region'), type: 'select', options: any },
      { name: 'store_id', label: t('reports.store'), type: 'select', options: any },
      { name: 'partner_id', label: t('reports.partner'), type: 'select', options: any },
      { name: 'brand_id', label: t('reports.brand'), type: 'select', options: any },
      {
        name: 'format',
        label: t('reports.format'),
        type: 'select',
        value: 'xlsx',
        options: [
          { value: 'xlsx', label: t('reports.xlsx') },
          { value: 'csv', label: t('reports.csv') },
        ],
      },
    ],
    submit: t('reports.download'),
    validate: (v) => (v.to < v.from ? [{ field: 'to', message: t('reports.toBeforeFrom') }] : []),
    onSubmit: async (v) => {
      replace(status, t('reports.preparing'));
      const query = { from: v.from, to: v.to, format: v.format, lang: locale === 'ru' ? 'ru' : 'en' };
      for (const key of ['region_id', 'store_id', 'partner_id', 'brand_id']) {
        if (v[key] && !(key === 'brand_id' && NO_BRAND.has(v.report))) query[key] = v[key];
      }
      const name = `${v.report.replace('_', '-')}-${v.from}-${v.to}.${v.format}`;
      try {
        return { name, size: await download(`/reports/${v.report}`, name, query) };
      } catch (error) {
        replace(status);
        throw error;
      }
    },
    onSuccess: ({ name }) => {
      replace(status, t('reports.saved', { name }));
      notify(t('reports.saved', { name }), 'success');
    },
  });

  // The brand filter means nothing to reports without a brand column.
  const brand = f.input('brand_id');
  const report = f.input('report');
  const syncBrand = () => {
    brand.disabled = NO_BRAND.has(report.value);
    if (brand.disabled) brand.value = '';
  };
  report.addEventListener('change', syncBrand);
  syncBrand();

  root.append(
    h('h1', null, t('reports.title')),
    h('section', { class: 'card' }, h('p', { class: 'muted' }, t('reports.intro')), f.el, status),
  );

  (async () => {
    const [regions, stores, partners, brands] = await Promise.all([
      choices('/regions'),
      choices('/stores?limit=200'),
      choices('/partners'),
      choices('/brands'),
    ]);
    f.setOptions('region_id', any.concat(regions));
    f.setOptions('store_id', any.concat(stores));
    f.setOptions('partner_id', any.concat(partners));
    f.setOptions('brand_id', any.concat(brands));
  })();
}
