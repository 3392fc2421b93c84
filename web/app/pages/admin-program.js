// Program settings: name, time zone, the owner's share, whether sellers may pay an
// order's shortfall by card (`card_payments`) and the level scale. The levels
// are edited as JSON with feedback while typing (syntax, shape, thresholds) and a
// preview; the server checks again and its answer lands under the same field.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { points, toCents } from '../format.js';
import { form } from '../components/form.js';
import { table } from '../components/table.js';
import { problemBox } from '../components/problem.js';
import { notify } from '../components/toast.js';

const DECIMAL = /^\d+(\.\d{1,2})?$/;
const MULTIPLIER = /^\d+(\.\d+)?$/;

/** Checks a level scale; returns [levels, null] or [null, message]. */
export function checkLevels(text) {
  let levels;
  try {
    levels = JSON.parse(text);
  } catch (error) {
    return [null, t('program.levelsJson', { error: error.message })];
  }
  if (!Array.isArray(levels) || levels.length === 0) return [null, t('program.levelsList')];
  let previous = { tasks: 0, cents: 0n };
  for (const [index, level] of levels.entries()) {
    const where = t('program.levelN', { n: index + 1 });
    if (typeof level !== 'object' || level === null || Array.isArray(level))
      return [null, `${where}: ${t('program.levelObject')}`];
    if (typeof level.name !== 'string' || !level.name.trim()) return [null, `${where}: ${t('program.levelName')}`];
    if (typeof level.multiplier !== 'string' || !MULTIPLIER.test(level.multiplier))
      return [null, `${where}: ${t('program.levelMultiplier')}`];
    const tasks = level.min_completed_tasks ?? 0;
    const pts = level.min_lifetime_points ?? '0';
    if (!Number.isInteger(tasks) || tasks < 0) return [null, `${where}: ${t('program.levelTasks')}`];
    if (typeof pts !== 'string' || !DECIMAL.test(pts)) return [null, `${where}: ${t('program.levelPoints')}`];
    const cents = toCents(pts);
    if (index === 0 && (tasks > 0 || cents > 0n)) return [null, t('program.levelFirst')];
    if (index > 0 && (tasks < previous.tasks || cents < previous.cents))
      return [null, `${where}: ${t('program.levelOrder')}`];
    previous = { tasks, cents };
  }
  return [levels, null];
}

export function mount(root) {
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  root.append(h('h1', null, t('program.title')), h('section', { class: 'card' }, body));

  api('/program')
    .then((program) => replace(body, settingsForm(program)))
    .catch((error) => replace(body, problemBox(error)));
}

function settingsForm(program) {
  let current = program;
  const zones = h(
    'datalist',
    { id: 'zones' },
    (Intl.supportedValuesOf?.('timeZone') ?? []).map((z) => h('option', { value: z })),
  );
  const preview = h('div', { class: 'levels-preview' });
  const f = form({
    fields: [
      { name: 'name', label: t('program.name'), required: true, value: program.name },
      {
        name: 'timezone',
        label: t('program.timezone'),
        required: true,
        value: program.timezone,
        hint: t('program.timezoneHint'),
        attrs: { list: 'zones', autocomplete: 'off' },
      },
      {
        name: 'owner_share_percent',
        label: t('program.ownerShare'),
        value: program.owner_share_percent,
        inputmode: 'decimal',
        hint: t('program.ownerShareHint'),
      },
      {
        name: 'card_payments',
        label: t('program.cardPayments'),
        type: 'checkbox',
        value: program.card_payments === true,
        hint: t('program.cardPaymentsHint'),
      },
      {
        name: 'levels',
        label: t('program.levels'),
        type: 'textarea',
        rows: 12,
        spellcheck: 'false',
        value: JSON.stringify(program.levels, null, 2),
        hint: t('program.levelsHint'),
        attrs: { class: 'mono' },
      },
    ],
    submit: t('common.save'),
    validate: (v) => {
      const errors = [];
      const [, message] = checkLevels(v.levels);
      if (message) errors.push({ field: 'levels', message });
      if (!DECIMAL.test(v.owner_share_percent) || toCents(v.owner_share_percent) > 10000n)
        errors.push({ field: 'owner_share_percent', message: t('program.ownerShareRange') });
      return errors;
    },
    onSubmit: (v) => {
      // Send only what changed, so two admins editing different settings do not clash.
      const change = {};
      if (v.name !== current.name) change.name = v.name;
      if (v.timezone !== current.timezone) change.timezone = v.timezone;
      if (v.owner_share_percent !== current.owner_share_percent) change.owner_share_percent = v.owner_share_percent;
      if (v.card_payments !== (current.card_payments === true)) change.card_payments = v.card_payments;
      const levels = JSON.parse(v.levels);
      if (JSON.stringify(levels) !== JSON.stringify(current.levels)) change.levels = levels;
      return api('/program', { method: 'PATCH', body: change });
    },
    onSuccess: (updated) => {
      current = updated;
      f.setValue('levels', JSON.stringify(updated.levels, null, 2));
      f.setValue('card_payments', updated.card_payments === true);
      showPreview();
      notify(t('program.saved'), 'success');
    },
  });
  f.el.append(zones);

  // Feedback while typing: the same check as on save, shown under the field.
  const levelsInput = f.input('levels');
  const levelsMessage = levelsInput.parentElement.querySelector('.field-error');
  function showPreview() {
    const [levels, message] = checkLevels(levelsInput.value);
    levelsMessage.textContent = message ?? '';
    if (message) levelsInput.setAttribute('aria-invalid', 'true');
    else levelsInput.removeAttribute('aria-invalid');
    // An invalid scale leaves the last valid preview, dimmed.
    preview.classList.toggle('stale', Boolean(message));
    if (levels) replace(preview, levelTable(levels));
  }
  levelsInput.addEventListener('input', debounce(showPreview, 250));
  showPreview();

  return h('div', null, f.el, h('h2', null, t('program.preview')), preview);
}

function levelTable(levels) {
  return table({
    rowKey: (l) => l.name,
    columns: [
      { label: t('program.level'), render: (l) => l.name },
      { label: t('program.multiplier'), numeric: true, render: (l) => `×${l.multiplier}` },
      { label: t('program.minTasks'), numeric: true, render: (l) => String(l.min_completed_tasks ?? 0) },
      { label: t('program.minPoints'), numeric: true, render: (l) => points(l.min_lifetime_points ?? '0') },
    ],
    rows: levels,
  }).el;
}
