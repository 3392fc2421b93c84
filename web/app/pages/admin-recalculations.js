// Retroactive recalculation (staff with program-wide `points.view`). With `points.edit`
// a wizard in three steps: (1) the rule that was wrong and its new value (a campaign's
// points per unit of one of its products, a level's multiplier, a task's points, each
// with what it pays now), the period (the previous calendar month unless changed, today
// at the latest, in the program's time zone) and why; (2) "Preview"
// (`previewRecalculation`, nothing is posted): the figures, the held earnings left out
// and the participants, largest change first, with what they would owe; (3) "Confirm":
// a dialog with the totals, then `applyRecalculation` with one Idempotency-Key per
// attempt (a retry after a lost answer sends the same key, so nothing is posted twice),
// followed every 500 ms (`getRecalculation`) until every participant's compensating
// transaction is posted. A preview is confirmed only as it was shown: changing the
// form afterwards asks for a new preview. Below: the recent recalculations
// (`listRecalculations`) and the participants who owe (`listDebts`).

import { h, replace } from '../dom.js';
import { t, tn } from '../i18n.js';
import { api, newIdempotencyKey } from '../api.js';
import { can } from '../session.js';
import { points, count, when, percentOf, isNegative, isZero } from '../format.js';
import { form } from '../components/form.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { problemBox } from '../components/problem.js';
import { openDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { bar } from '../components/standing.js';
import { storeLink } from '../components/names.js';
import {
  KINDS,
  MAX_MULTIPLIER,
  MAX_PERIOD_DAYS,
  MAX_COMMENT,
  todayIn,
  defaultPeriod,
  periodText,
  describeRecalcRule,
  currentValueText,
  checkRecalcForm,
  ruleErrorField,
  levelName,
  multiplierText,
} from '../components/recalculation.js';

const POLL_MS = 500;

// Literal keys, so the dictionary test sees each of them.
const KIND_LABELS = {
  campaign_product: () => t('recalc.kind.campaign_product'),
  level_multiplier: () => t('recalc.kind.level_multiplier'),
  task_points: () => t('recalc.kind.task_points'),
};
const STATUS_LABELS = {
  posting: () => t('recalc.status.posting'),
  finished: () => t('recalc.status.finished'),
};
/** The fields of each kind: the target and the new value. */
const KIND_FIELDS = {
  campaign_product: ['campaign_id', 'product_id', 'points_per_unit'],
  level_multiplier: ['level', 'multiplier'],
  task_points: ['task_id', 'points'],
};
const STEPS = [
  { id: 'rule', label: () => t('recalc.step.rule') },
  { id: 'preview', label: () => t('recalc.step.preview') },
  { id: 'confirm', label: () => t('recalc.step.confirm') },
];

function fact(label, value, testid, className = null) {
  return h('div', { class: className }, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

/** A gain or a loss, signed and coloured (nothing for zero). */
function signed(value) {
  if (isZero(value)) return h('span', null, points(value));
  return h('span', { class: isNegative(value) ? 'debit' : 'credit' }, points(value, { signed: true }));
}

/** A losses total (sent positive) shown as taken away. */
function taken(value) {
  return isZero(value) ? h('span', null, points(value)) : h('span', { class: 'debit' }, points(`-${value}`));
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, STATUS_LABELS[status]?.() ?? status);
}

function personLink(id, name) {
  return can('participants.view') ? h('a', { href: `/people/${id}` }, name) : name;
}

/** The figures a preview and a recalculation share. */
function figures(f, { pending = null } = {}) {
  return h(
    'dl',
    { class: 'facts recalc-figures' },
    fact(t('recalc.fig.transactions'), count(f.transactions), 'fig-transactions'),
    fact(t('recalc.fig.participants'), count(f.participants), 'fig-participants'),
    fact(t('recalc.fig.gainers'), count(f.gainers), 'fig-gainers'),
    fact(t('recalc.fig.losers'), count(f.losers), 'fig-losers'),
    fact(t('recalc.fig.gains'), signed(f.gains), 'fig-gains'),
    fact(t('recalc.fig.losses'), taken(f.losses), 'fig-losses'),
    fact(t('recalc.fig.net'), signed(f.net), 'fig-net'),
    fact(t('recalc.fig.ownerGains'), signed(f.owner_gains), 'fig-owner-gains'),
    fact(t('recalc.fig.ownerLosses'), taken(f.owner_losses), 'fig-owner-losses'),
    pending === null ? null : fact(t('recalc.fig.pending'), count(pending), 'fig-pending'),
  );
}

export function mount(root) {
  const editor = can('points.edit');
  let stopped = false;
  let timer = null;
  let following = null; // the id of the recalculation being followed
  let names = { campaigns: [], levels: [], tasks: [] };
  let today = todayIn();
  let wizard = null; // the wizard, with `points.edit`

  // The campaigns, levels and tasks: the wizard picks from them, the list names them.
  const namesLoaded = Promise.allSettled([
    api('/campaigns', { query: { limit: 200 } }),
    api('/program'),
    api('/tasks', { query: { limit: 200 } }),
  ]).then(([campaigns, program, tasks]) => {
    names = {
      campaigns: campaigns.status === 'fulfilled' ? (campaigns.value.items ?? []) : [],
      levels: program.status === 'fulfilled' ? (program.value.levels ?? []) : [],
      tasks: tasks.status === 'fulfilled' ? (tasks.value.items ?? []) : [],
    };
    if (program.status === 'fulfilled') today = todayIn(program.value.timezone);
    return names;
  });
  const ruleText = (rule) => describeRecalcRule(rule, names);

  // --- the recent recalculations ---
  const progress = h('div', { class: 'recalc-progress-box', 'aria-live': 'polite' });
  const list = table({
    empty: t('recalc.listNone'),
    columns: [
      { label: '#', numeric: true, render: (r) => h('span', { 'data-recalc-id': r.id }, String(r.id)) },
      { label: t('recalc.col.when'), render: (r) => when(r.created_at) },
      {
        label: t('recalc.col.rule'),
        // One node per cell: on phones a row is a card of label and value.
        render: (r) =>
          h(
            'div',
            null,
            h('div', null, ruleText(r.rule)),
            r.comment ? h('div', { class: 'muted small' }, r.comment) : null,
          ),
      },
      { label: t('recalc.col.period'), render: (r) => periodText(r.from, r.to) },
      {
        label: t('recalc.col.participants'),
        numeric: true,
        render: (r) =>
          h(
            'div',
            null,
            h('div', null, count(r.participants)),
            h(
              'div',
              { class: 'muted small' },
              t('recalc.gainersLosers', { gainers: count(r.gainers), losers: count(r.losers) }),
            ),
          ),
      },
      { label: t('recalc.col.gains'), numeric: true, wide: true, render: (r) => signed(r.gains) },
      { label: t('recalc.col.losses'), numeric: true, wide: true, render: (r) => taken(r.losses) },
      { label: t('recalc.col.net'), numeric: true, render: (r) => signed(r.net) },
      {
        label: t('recalc.col.posted'),
        numeric: true,
        render: (r) =>
          h(
            'div',
            null,
            h('div', null, t('recalc.ofAll', { done: count(r.posted), all: count(r.participants) })),
            r.failed ? h('div', { class: 'debit small' }, t('recalc.failedShort', { n: count(r.failed) })) : null,
          ),
      },
      { label: t('recalc.col.status'), render: (r) => statusBadge(r.status) },
    ],
  });
  const paged = pagedList({
    list,
    fetchPage: async (cursor, signal) => {
      await namesLoaded;
      const page = await api('/recalculations', { signal, query: { limit: 20, cursor } });
      // One still posting (started elsewhere, or before this page opened) is followed.
      const latest = page.items?.[0];
      if (!cursor && latest?.status === 'posting' && following === null) setTimeout(() => follow(latest), 0);
      return page;
    },
  });

  /** A recalculation in the list: its row replaced, or added at the top when new. */
  function listRecalculation(recalculation) {
    if (list.rows().some((r) => r.id === recalculation.id)) list.update(recalculation);
    else list.setRows([recalculation, ...list.rows()]);
  }

  // --- the open debts ---
  const debts = table({
    empty: t('debts.none'),
    rowKey: (d) => d.participant_id,
    columns: [
      { label: t('debts.name'), render: (d) => personLink(d.participant_id, d.name) },
      { label: t('debts.phone'), render: (d) => d.phone ?? '—' },
      { label: t('debts.store'), wide: true, render: (d) => (d.store_id ? storeLink(d.store_id) : '—') },
      {
        label: t('debts.amount'),
        numeric: true,
        render: (d) => h('span', { class: 'debit', 'data-debt': d.amount }, points(d.amount)),
      },
    ],
  });
  const debtsPaged = pagedList({
    list: debts,
    fetchPage: (cursor, signal) => api('/debts', { signal, query: { limit: 20, cursor } }),
  });

  // --- following a recalculation while it posts ---
  function progressView(r) {
    const posting = r.status !== 'finished';
    return h(
      'div',
      { class: 'run-progress', 'data-testid': 'recalc-progress', 'data-recalc-id': r.id, 'data-status': r.status },
      h(
        'p',
        { class: posting ? null : 'verdict ok' },
        posting
          ? t('recalc.posting', { id: r.id })
          : t('recalc.finished', { id: r.id, posted: count(r.posted), n: count(r.participants) }),
      ),
      h('p', { class: 'muted' }, `${ruleText(r.rule)} · ${periodText(r.from, r.to)}`),
      bar(
        t('recalc.progress'),
        percentOf(r.posted + r.failed, r.participants),
        t('recalc.ofAll', { done: count(r.posted), all: count(r.participants) }),
      ),
      r.failed
        ? h(
            'p',
            { class: 'problem', 'data-testid': 'recalc-failed' },
            tn('recalc.failedNote', r.failed, { n: count(r.failed) }),
          )
        : null,
      h(
        'dl',
        { class: 'facts' },
        fact(t('recalc.posted'), count(r.posted), 'recalc-posted'),
        fact(t('recalc.failed'), count(r.failed), 'recalc-failed-count', r.failed ? 'bad' : null),
        fact(t('recalc.fig.participants'), count(r.participants)),
        fact(t('recalc.fig.net'), signed(r.net)),
        fact(t('recalc.col.when'), when(r.created_at)),
      ),
    );
  }

  /** Shows a recalculation and, while it posts, reads it again every POLL_MS. */
  function follow(r) {
    if (stopped) return;
    following = r.id;
    wizard?.busy(true);
    replace(progress, progressView(r));
    listRecalculation(r);
    if (r.status !== 'finished') {
      timer = setTimeout(() => poll(r.id), POLL_MS);
      return;
    }
    following = null;
    wizard?.busy(false);
    wizard?.finished();
    notify(t('recalc.finished', { id: r.id, posted: count(r.posted), n: count(r.participants) }), 'success');
    debtsPaged.reload();
  }

  async function poll(id) {
    timer = null;
    try {
      follow(await api(`/recalculations/${id}`));
    } catch (error) {
      if (stopped) return;
      // Lost track (the connection, a restart): say so, and offer to look again.
      replace(
        progress,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: () => poll(id) }, t('common.retry')),
      );
    }
  }

  wizard = editor
    ? recalcWizard({ names: () => names, today: () => today, namesLoaded, follow, progress, ruleText })
    : null;

  root.append(
    h('h1', null, t('recalc.title')),
    h('p', { class: 'muted' }, t('recalc.intro')),
    wizard
      ? wizard.el
      : h('p', { class: 'notice notice-info', 'data-testid': 'recalc-read-only' }, t('recalc.readOnly')),
    h(
      'section',
      { class: 'card', 'data-testid': 'recalc-list' },
      h('h2', null, t('recalc.listTitle')),
      wizard ? null : progress,
      paged.el,
    ),
    h(
      'section',
      { class: 'card', 'data-testid': 'debts' },
      h('h2', null, t('debts.title')),
      h('p', { class: 'muted' }, t('debts.intro')),
      debtsPaged.el,
    ),
  );

  return () => {
    stopped = true;
    clearTimeout(timer);
    paged.abort();
    debtsPaged.abort();
    wizard?.stop();
  };
}

/**
 * The wizard: the form (step 1), the preview (step 2) and the confirmation (step 3).
 * `follow(recalculation)` takes over once the server accepted it. Returns
 * { el, busy(on), finished(), stop() }.
 */
function recalcWizard({ names, today, namesLoaded, follow, progress, ruleText }) {
  const steps = h(
    'ol',
    { class: 'recalc-steps', 'aria-label': t('recalc.stepsLabel') },
    STEPS.map((s) => h('li', { 'data-step': s.id }, s.label())),
  );
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  const previewBox = h('div', { class: 'recalc-preview', 'aria-live': 'polite' });
  const el = h(
    'section',
    { class: 'card', 'data-testid': 'recalc-wizard' },
    h('h2', null, t('recalc.wizardTitle')),
    steps,
    body,
    previewBox,
    progress,
  );
  let f = null;
  let previewed = null; // { body, snapshot, preview } as last shown
  let attempt = null; // { key, snapshot } of a confirmation whose outcome is unknown
  let posting = false;
  let stopped = false;

  function setStep(id) {
    const at = STEPS.findIndex((s) => s.id === id);
    steps.querySelectorAll('li').forEach((li, i) => {
      li.classList.toggle('done', i < at);
      if (i === at) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    el.dataset.step = id;
  }
  setStep('rule');

  const snapshotOf = (b) => (b ? JSON.stringify(b) : null);

  namesLoaded.then(() => {
    if (stopped) return;
    f = buildForm();
    replace(body, f.el);
  });

  function buildForm() {
    const { campaigns, levels, tasks } = names();
    // Drafts paid nothing: only campaigns that ran are offered.
    const ran = campaigns.filter((c) => c.status !== 'draft' && (c.products ?? []).length);
    const choose = { value: '', label: t('recalc.choose') };
    const period = defaultPeriod(today());
    const firstCampaign = ran[0];
    const firstProduct = firstCampaign?.products[0];
    const productOptions = (campaign) =>
      campaign
        ? [
            choose,
            ...campaign.products.map((p) => ({
              value: p.product_id,
              label: t('recalc.productOption', { name: p.name, sku: p.sku }),
            })),
          ]
        : [choose];
    const f = form({
      className: 'recalc-form form-wide',
      fields: [
        {
          name: 'kind',
          label: t('recalc.kind'),
          type: 'select',
          value: KINDS[0],
          options: KINDS.map((k) => ({ value: k, label: KIND_LABELS[k]() })),
        },
        {
          name: 'campaign_id',
          label: t('recalc.campaign'),
          type: 'select',
          value: firstCampaign?.id ?? '',
          options: [choose, ...ran.map((c) => ({ value: c.id, label: c.name }))],
        },
        {
          name: 'product_id',
          label: t('recalc.product'),
          type: 'select',
          value: firstProduct?.product_id ?? '',
          options: productOptions(firstCampaign),
        },
        {
          name: 'points_per_unit',
          label: t('recalc.pointsPerUnit'),
          hint: t('recalc.pointsHint'),
          attrs: { inputmode: 'decimal', autocomplete: 'off' },
        },
        {
          name: 'level',
          label: t('recalc.level'),
          type: 'select',
          value: '0',
          options: levels.length
            ? levels.map((l, i) => ({
                value: i,
                label: t('recalc.levelOption', { name: levelName(levels, i), x: multiplierText(l.multiplier ?? '1') }),
              }))
            : [{ value: 0, label: levelName(levels, 0) }],
        },
        {
          name: 'multiplier',
          label: t('recalc.multiplier'),
          hint: t('recalc.multiplierHint', { max: MAX_MULTIPLIER }),
          attrs: { inputmode: 'decimal', autocomplete: 'off' },
        },
        {
          name: 'task_id',
          label: t('recalc.task'),
          type: 'select',
          options: [choose, ...tasks.map((task) => ({ value: task.id, label: task.title }))],
        },
        {
          name: 'points',
          label: t('recalc.taskPoints'),
          hint: t('recalc.pointsHint'),
          attrs: { inputmode: 'decimal', autocomplete: 'off' },
        },
        { name: 'from', label: t('recalc.from'), type: 'date', value: period.from, attrs: { max: today() } },
        {
          name: 'to',
          label: t('recalc.to'),
          type: 'date',
          value: period.to,
          hint: t('recalc.periodHint', { max: MAX_PERIOD_DAYS }),
          attrs: { max: today() },
        },
        {
          name: 'comment',
          label: t('recalc.comment'),
          type: 'textarea',
          rows: 2,
          required: true,
          hint: t('recalc.commentHint'),
          attrs: { maxlength: MAX_COMMENT },
        },
      ],
      submit: t('recalc.previewButton'),
      validate: (v) => checkRecalcForm(v, { today: today() }).errors,
      onSubmit: async (v) => {
        const { body: request } = checkRecalcForm(v, { today: today() });
        try {
          const preview = await api('/recalculations/preview', { method: 'POST', body: request });
          return { request, preview };
        } catch (error) {
          // The server names the whole rule: its message goes under the field it is about.
          error.errors = (error.errors ?? []).map((e) =>
            e.field === 'rule' ? { ...e, field: ruleErrorField(v.kind, e.message) } : e,
          );
          throw error;
        }
      },
      onSuccess: ({ request, preview }) => showPreview(request, preview),
    });
    f.el.dataset.testid = 'recalc-form';

    // What the chosen target pays now, under the new value's field.
    const nowHints = {
      points_per_unit: h('div', { class: 'hint recalc-now', 'data-testid': 'recalc-now-product' }),
      multiplier: h('div', { class: 'hint recalc-now', 'data-testid': 'recalc-now-level' }),
      points: h('div', { class: 'hint recalc-now', 'data-testid': 'recalc-now-task' }),
    };
    for (const [name, hint] of Object.entries(nowHints)) f.input(name).after(hint);

    const kind = f.input('kind');
    const campaign = f.input('campaign_id');
    const campaignOf = () => ran.find((c) => String(c.id) === campaign.value);
    campaign.addEventListener('change', () => f.setOptions('product_id', productOptions(campaignOf()), ''));

    const sync = () => {
      for (const [k, fields] of Object.entries(KIND_FIELDS))
        for (const name of fields) f.field(name).hidden = k !== kind.value;
      const product = campaignOf()?.products.find((p) => String(p.product_id) === f.input('product_id').value);
      replace(nowHints.points_per_unit, currentValueText('campaign_product', product));
      replace(nowHints.multiplier, currentValueText('level_multiplier', levels[Number(f.input('level').value)]));
      const task = tasks.find((x) => String(x.id) === f.input('task_id').value);
      replace(nowHints.points, currentValueText('task_points', task));
      // A preview stands for the values it was made of: once they change, preview again.
      if (previewed && !posting) {
        const { body: now } = checkRecalcForm(f.values(), { today: today() });
        markStale(snapshotOf(now) !== previewed.snapshot);
      }
    };
    f.el.addEventListener('change', sync);
    f.el.addEventListener('input', sync);
    sync();
    return f;
  }

  // --- step 2: the preview ---
  let confirmButton = null;
  let staleNote = null;

  function markStale(stale) {
    if (!confirmButton) return;
    confirmButton.disabled = stale || posting;
    staleNote.hidden = !stale;
    setStep(stale ? 'rule' : 'preview');
  }

  function showPreview(request, preview) {
    previewed = { body: request, snapshot: snapshotOf(request), preview };
    const lines = preview.lines ?? [];
    const linesTable = table({
      empty: t('recalc.noLines'),
      rowKey: (l) => l.participant_id,
      columns: [
        { label: t('recalc.line.name'), render: (l) => personLink(l.participant_id, l.name) },
        { label: t('recalc.line.phone'), wide: true, render: (l) => l.phone ?? '—' },
        { label: t('recalc.line.earnings'), numeric: true, wide: true, render: (l) => count(l.earnings) },
        { label: t('recalc.line.paid'), numeric: true, render: (l) => points(l.paid) },
        { label: t('recalc.line.recalculated'), numeric: true, render: (l) => points(l.recalculated) },
        { label: t('recalc.line.difference'), numeric: true, render: (l) => signed(l.difference) },
        { label: t('recalc.line.owner'), numeric: true, wide: true, render: (l) => signed(l.owner_difference) },
        { label: t('recalc.line.available'), numeric: true, render: (l) => points(l.available) },
        {
          label: t('recalc.line.debtAfter'),
          numeric: true,
          render: (l) =>
            isZero(l.debt_after) ? points(l.debt_after) : h('span', { class: 'debit' }, points(l.debt_after)),
        },
      ],
      rows: lines,
    });
    confirmButton = h(
      'button',
      { type: 'button', 'data-action': 'confirm-recalc', onclick: () => confirmRecalculation() },
      t('recalc.confirmButton'),
    );
    staleNote = h('p', { class: 'notice', hidden: true, 'data-testid': 'recalc-stale' }, t('recalc.stale'));
    const debtors = lines.filter((l) => !isZero(l.debt_after)).length;
    replace(
      previewBox,
      h(
        'div',
        { class: 'recalc-preview-body', 'data-testid': 'recalc-preview' },
        h('h3', null, t('recalc.previewTitle')),
        h(
          'p',
          { class: 'recalc-rule-text' },
          t('recalc.previewOf', { rule: ruleText(preview.rule), period: periodText(preview.from, preview.to) }),
        ),
        figures(preview, { pending: preview.pending }),
        preview.pending > 0
          ? h(
              'p',
              { class: 'notice notice-info', 'data-testid': 'recalc-pending' },
              tn('recalc.pendingNote', preview.pending, { n: count(preview.pending) }),
            )
          : null,
        preview.participants === 0
          ? h('p', { class: 'notice notice-info', 'data-testid': 'recalc-nothing' }, t('recalc.nothing'))
          : null,
        debtors
          ? h(
              'p',
              { class: 'notice', 'data-testid': 'recalc-debtors' },
              tn('recalc.debtorsNote', debtors, { n: count(debtors) }),
            )
          : null,
        lines.length ? linesTable.el : null,
        preview.participants > lines.length && lines.length
          ? h(
              'p',
              { class: 'muted', 'data-testid': 'recalc-more-lines' },
              t('recalc.moreLines', { shown: count(lines.length), n: count(preview.participants) }),
            )
          : null,
        staleNote,
        h('div', { class: 'actions' }, confirmButton),
      ),
    );
    confirmButton.disabled = posting;
    setStep('preview');
    previewBox.querySelector('h3').scrollIntoView?.({ block: 'nearest' });
  }

  // --- step 3: confirm and post ---
  function confirmRecalculation() {
    if (!previewed || posting) return;
    const { body: request, preview } = previewed;
    setStep('confirm');
    openDialog({
      title: t('recalc.confirmTitle'),
      onClose: () => {
        if (!posting && previewed) setStep('preview');
      },
      content: (close) =>
        h(
          'div',
          { 'data-testid': 'recalc-confirm' },
          h('p', { class: 'recalc-rule-text' }, `${ruleText(preview.rule)} · ${periodText(preview.from, preview.to)}`),
          h(
            'dl',
            { class: 'facts' },
            fact(t('recalc.fig.participants'), count(preview.participants)),
            fact(t('recalc.fig.gains'), signed(preview.gains)),
            fact(t('recalc.fig.losses'), taken(preview.losses)),
            fact(t('recalc.fig.net'), signed(preview.net)),
            fact(t('recalc.fig.ownerGains'), signed(preview.owner_gains)),
            fact(t('recalc.fig.ownerLosses'), taken(preview.owner_losses)),
          ),
          h('p', null, t('recalc.confirmEffect')),
          h('p', { class: 'muted small' }, t('recalc.confirmComment', { comment: request.comment })),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                'data-action': 'post-recalc',
                onclick: () => {
                  close();
                  post(request);
                },
              },
              t('recalc.post'),
            ),
            h('button', { type: 'button', class: 'secondary', onclick: close }, t('common.cancel')),
          ),
        ),
    });
  }

  async function post(request) {
    const snapshot = snapshotOf(request);
    // One key per attempt; a retry of the same recalculation after a lost answer keeps
    // it, so the server answers with the recalculation it already started.
    const key = attempt?.snapshot === snapshot ? attempt.key : newIdempotencyKey();
    attempt = { key, snapshot };
    busy(true);
    replace(progress, h('p', { class: 'muted' }, t('recalc.sending')));
    try {
      const recalculation = await api('/recalculations', { method: 'POST', body: request, idempotencyKey: key });
      attempt = null;
      // Posted: this preview is spent, a second confirmation would post it again.
      previewed = null;
      replace(previewBox);
      notify(t('recalc.started', { id: recalculation.id }), 'success');
      setStep('confirm');
      follow(recalculation);
    } catch (error) {
      const unknown = error.code === 'network' || error.code === 'request_in_progress' || error.status >= 500;
      if (!unknown) attempt = null;
      busy(false);
      replace(
        progress,
        problemBox(error),
        unknown
          ? h(
              'button',
              { type: 'button', class: 'secondary', 'data-action': 'retry-recalc', onclick: () => post(request) },
              t('common.retry'),
            )
          : null,
      );
      if (previewed) setStep('preview');
    }
  }

  /** While a recalculation posts another cannot start (the server says `invalid_state`). */
  function busy(on) {
    posting = on;
    if (confirmButton) confirmButton.disabled = on || !previewed || !staleNote?.hidden;
  }

  /** After a recalculation finished: the form stays as typed for the next one. */
  function finished() {
    setStep('rule');
  }

  return {
    el,
    busy,
    finished,
    stop: () => {
      stopped = true;
    },
  };
}
