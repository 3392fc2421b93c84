// A CSV import form (stores, participants, rewards). All or nothing on the server: it
// always checks first (`?dry_run=true`) and offers the real import only for the very
// file that passed; a refused file shows every bad row in a table (problemBox).

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { form } from './form.js';
import { notify } from './toast.js';

/**
 * `kinds`: [{ value (the `/imports/{value}` path), columns }], labelled
 * `import.kind.{value}`; `onImported(summary, kind)` after a real import.
 * Returns { el }.
 */
export function importForm({ kinds, onImported }) {
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  let checked = null; // { kind, text } that passed the dry run

  const importButton = h('button', { type: 'button', disabled: true, onclick: () => run(false) }, t('import.run'));
  const f = form({
    fields: [
      {
        name: 'kind',
        label: t('import.kind'),
        type: 'select',
        options: kinds.map((k) => ({ value: k.value, label: t(`import.kind.${k.value}`) })),
      },
      { name: 'file', label: t('import.file'), type: 'file', attrs: { accept: '.csv,text/csv' } },
      {
        name: 'text',
        label: t('import.paste'),
        type: 'textarea',
        rows: 6,
        spellcheck: 'false',
        attrs: { class: 'mono' },
      },
    ],
    submit: t('import.check'),
    extra: importButton,
    onSubmit: () => run(true),
  });
  const columns = h('p', { class: 'hint' });
  const showColumns = () =>
    replace(columns, t('import.columns', { columns: kinds.find((k) => k.value === f.values().kind)?.columns ?? '' }));
  f.field('kind').append(columns);
  // One kind needs no choice.
  if (kinds.length === 1) f.input('kind').disabled = true;
  showColumns();

  // Any change to the input invalidates the last check.
  const invalidate = () => {
    checked = null;
    importButton.disabled = true;
    showColumns();
  };
  f.el.addEventListener('input', invalidate);
  f.el.addEventListener('change', invalidate);

  async function csv() {
    const { file, text } = f.values();
    if (file) return file.text();
    return text;
  }

  async function run(dryRun) {
    const kind = f.values().kind;
    const text = await csv();
    if (!text.trim()) {
      f.showProblem({ detail: t('import.nothing'), errors: [{ field: 'file', message: t('import.nothing') }] });
      return;
    }
    if (!dryRun && (checked?.kind !== kind || checked?.text !== text)) return;
    f.clearProblem();
    replace(result, t('common.loading'));
    importButton.disabled = true;
    try {
      const summary = await api(`/imports/${kind}`, {
        method: 'POST',
        query: { dry_run: dryRun },
        body: text,
        contentType: 'text/csv; charset=utf-8',
      });
      replace(result, summaryBox(summary));
      if (dryRun) {
        checked = { kind, text };
        importButton.disabled = false;
      } else {
        checked = null;
        notify(t('import.done', { created: summary.created, updated: summary.updated }), 'success');
        onImported?.(summary, kind);
      }
    } catch (error) {
      replace(result);
      f.showProblem(error);
    }
  }

  return { el: h('div', { class: 'import-form' }, f.el, result) };
}

function summaryBox(s) {
  return h(
    'div',
    { class: s.dry_run ? 'notice notice-info' : 'notice notice-ok' },
    h('strong', null, s.dry_run ? t('import.checked') : t('import.imported')),
    h('p', null, t('import.summary', { rows: s.rows, created: s.created, updated: s.updated })),
  );
}
