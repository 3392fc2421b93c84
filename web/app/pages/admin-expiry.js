// Points expiry (staff with program-wide `points.view`): the program's rule in words and
// what it applies to, what is due now and the coming expiries (`getExpiryRule`). With
// `program.edit`, the rule form: never, a number of days after the credit, or the end
// of a month, quarter or year some periods later, and the days of warning; checked here
// against the server's limits, the server's field errors under the same fields. A new
// rule applies to points credited from now on (earlier points keep their dates), and
// the page says so next to the form. With `points.edit`, "Run now" starts a run
// (`runExpiry`) and follows it every 500 ms (`getExpiryRun`) until it finishes; the
// recent runs, nightly and by hand, are listed below (`listExpiryRuns`).

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { points, count, when, day, percentOf } from '../format.js';
import { form } from '../components/form.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { problemBox, describe } from '../components/problem.js';
import { notify } from '../components/toast.js';
import { bar } from '../components/standing.js';
import {
  KINDS,
  PERIODS,
  MAX_DAYS,
  MAX_PERIODS,
  MAX_WARN_DAYS,
  checkRuleForm,
  describeRule,
  describeWarning,
  ruleValues,
  sameRule,
  ruleField,
} from '../components/expiry.js';

const POLL_MS = 500;

// Literal keys, so the dictionary test sees each of them.
const KIND_LABELS = {
  never: () => t('expiry.kind.never'),
  after_days: () => t('expiry.kind.after_days'),
  end_of_period: () => t('expiry.kind.end_of_period'),
};
const PERIOD_LABELS = {
  month: () => t('expiry.period.month'),
  quarter: () => t('expiry.period.quarter'),
  year: () => t('expiry.period.year'),
};
const STATUS_LABELS = {
  running: () => t('expiry.status.running'),
  finished: () => t('expiry.status.finished'),
};

function fact(label, value, testid) {
  return h('div', null, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, STATUS_LABELS[status]?.() ?? status);
}

/** What the rule applies to, in words (the server's `applies_to`, in the page's language). */
function appliesText(settings) {
  if (settings.rule?.kind === 'never') return t('expiry.appliesNever');
  return settings.since ? t('expiry.appliesSince', { when: when(settings.since) }) : t('expiry.appliesNow');
}

export function mount(root) {
  const editor = can('program.edit');
  const runner = can('points.edit');
  let stopped = false;
  let timer = null;
  let following = null; // the id of the run being followed
  let current = null; // the settings as last read

  // --- the rule ---
  const summary = h('div', { class: 'expiry-rule', 'data-testid': 'expiry-current', 'aria-live': 'polite' });
  const applies = h('p', { class: 'notice notice-info', 'data-testid': 'expiry-applies' });
  const ruleBody = h('div', null, h('p', { class: 'muted' }, t('common.loading')));

  // --- what is due and what comes ---
  const facts = h('dl', { class: 'facts' });
  const forecast = table({
    keep: true,
    empty: t('expiry.forecastNone'),
    rowKey: (m) => m.at,
    columns: [
      { label: t('expiry.on'), render: (m) => day(m.on) },
      { label: t('expiry.amount'), numeric: true, render: (m) => points(m.amount) },
      { label: t('expiry.participants'), numeric: true, render: (m) => count(m.participants) },
    ],
  });
  const dueSection = h(
    'section',
    { class: 'card', hidden: true, 'data-testid': 'expiry-due' },
    h('h2', null, t('expiry.dueTitle')),
    facts,
    h('p', { class: 'muted small' }, t('expiry.dueHint')),
    h('h3', null, t('expiry.forecast')),
    forecast.el,
  );

  function showSettings(settings) {
    current = settings;
    replace(
      summary,
      h('p', { class: 'expiry-rule-text' }, describeRule(settings.rule)),
      h('p', null, describeWarning(settings.warn_days)),
    );
    replace(applies, appliesText(settings));
    replace(
      facts,
      fact(t('expiry.dueNow'), points(settings.due_now), 'due-now'),
      fact(t('expiry.since'), settings.since ? when(settings.since) : t('common.none')),
    );
    forecast.setRows(settings.forecast ?? []);
    dueSection.hidden = false;
  }

  async function firstLoad() {
    replace(ruleBody, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const settings = await api('/expiry/rule');
      if (stopped) return;
      showSettings(settings);
      replace(ruleBody, summary, applies, editor ? ruleForm() : null);
    } catch (error) {
      replace(
        ruleBody,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: firstLoad }, t('common.retry')),
      );
    }
  }

  /** After a run: what is due and the forecast again (the form keeps what is typed). */
  async function refreshSettings() {
    try {
      const settings = await api('/expiry/rule');
      if (!stopped) showSettings(settings);
    } catch (error) {
      notify(describe(error), 'error');
    }
  }

  function ruleForm() {
    const initial = ruleValues(current.rule, current.warn_days);
    const preview = h('p', { class: 'muted', 'data-testid': 'expiry-preview', 'aria-live': 'polite' });
    const whole = { inputmode: 'numeric', step: 1 };
    const f = form({
      className: 'expiry-form',
      fields: [
        {
          name: 'kind',
          label: t('expiry.kind'),
          type: 'select',
          value: initial.kind,
          options: KINDS.map((k) => ({ value: k, label: KIND_LABELS[k]() })),
        },
        {
          name: 'days',
          label: t('expiry.days'),
          type: 'number',
          value: initial.days,
          hint: t('expiry.daysHint', { max: MAX_DAYS }),
          attrs: { ...whole, min: 1, max: MAX_DAYS },
        },
        {
          name: 'period',
          label: t('expiry.period'),
          type: 'select',
          value: initial.period,
          options: PERIODS.map((p) => ({ value: p, label: PERIOD_LABELS[p]() })),
        },
        {
          name: 'then',
          label: t('expiry.then'),
          type: 'number',
          value: initial.then,
          hint: t('expiry.thenHint', { max: MAX_PERIODS }),
          attrs: { ...whole, min: 0, max: MAX_PERIODS },
        },
        {
          name: 'warn_days',
          label: t('expiry.warnDays'),
          type: 'number',
          value: initial.warn_days,
          hint: t('expiry.warnDaysHint', { max: MAX_WARN_DAYS }),
          attrs: { ...whole, min: 0, max: MAX_WARN_DAYS },
        },
      ],
      submit: t('common.save'),
      validate: (v) => checkRuleForm(v).errors,
      onSubmit: async (v) => {
        const { rule, warn_days: warnDays } = checkRuleForm(v);
        // Only what changed: an unchanged rule keeps the date it applies from.
        const change = {};
        if (!sameRule(rule, current.rule)) change.rule = rule;
        if (warnDays !== current.warn_days) change.warn_days = warnDays;
        try {
          return await api('/expiry/rule', { method: 'PUT', body: change });
        } catch (error) {
          // The server names the whole rule: its message goes under the field of the kind sent.
          error.errors = (error.errors ?? []).map((e) => (e.field === 'rule' ? { ...e, field: ruleField(v.kind) } : e));
          throw error;
        }
      },
      onSuccess: (settings) => {
        showSettings(settings);
        notify(t('expiry.saved'), 'success');
      },
    });
    f.el.dataset.testid = 'expiry-form';

    // The fields of the chosen kind only, and the rule as typed in words.
    const kind = f.input('kind');
    const sync = () => {
      f.field('days').hidden = kind.value !== 'after_days';
      f.field('period').hidden = kind.value !== 'end_of_period';
      f.field('then').hidden = kind.value !== 'end_of_period';
      const { rule, warn_days: warnDays, errors } = checkRuleForm(f.values());
      replace(
        preview,
        errors.length ? '' : t('expiry.preview', { rule: describeRule(rule), warning: describeWarning(warnDays) }),
      );
    };
    kind.addEventListener('change', sync);
    f.el.addEventListener('input', sync);
    sync();
    f.el.querySelector('.form-alert').before(preview);

    return h(
      'div',
      { class: 'expiry-change' },
      h('h3', null, t('expiry.change')),
      h('p', { class: 'notice', 'data-testid': 'expiry-new-only' }, t('expiry.newOnly')),
      f.el,
    );
  }

  // --- runs ---
  const progress = h('div', { class: 'run-progress-box', 'aria-live': 'polite' });
  const runButton = runner
    ? h('button', { type: 'button', 'data-action': 'run-expiry', onclick: runNow }, t('expiry.runNow'))
    : null;
  const runs = table({
    empty: t('expiry.runsNone'),
    columns: [
      { label: '#', numeric: true, render: (r) => h('span', { 'data-run-id': r.id }, String(r.id)) },
      { label: t('expiry.runWhen'), render: (r) => when(r.created_at) },
      { label: t('expiry.runDate'), wide: true, render: (r) => day(r.on) },
      { label: t('expiry.runKind'), render: (r) => (r.nightly ? t('expiry.nightly') : t('expiry.byHand')) },
      {
        label: t('expiry.runParticipants'),
        numeric: true,
        render: (r) => t('expiry.ofDue', { done: count(r.participants_done), due: count(r.participants_due) }),
      },
      { label: t('expiry.runPoints'), numeric: true, render: (r) => points(r.points_expired) },
      { label: t('expiry.runWarnings'), numeric: true, render: (r) => count(r.warnings) },
      { label: t('expiry.runStatus'), render: (r) => statusBadge(r.status) },
    ],
  });
  const paged = pagedList({
    list: runs,
    fetchPage: async (cursor, signal) => {
      const page = await api('/expiry/runs', { signal, query: { limit: 20, cursor } });
      // A run still going (tonight's, or one started before this page opened) is followed.
      const latest = page.items?.[0];
      if (!cursor && latest?.status === 'running' && following === null) setTimeout(() => follow(latest), 0);
      return page;
    },
  });

  /** A run in the list: its row replaced, or added at the top when new. */
  function listRun(run) {
    if (runs.rows().some((r) => r.id === run.id)) runs.update(run);
    else runs.setRows([run, ...runs.rows()]);
  }

  function progressView(run) {
    const running = run.status !== 'finished';
    return h(
      'div',
      { class: 'run-progress', 'data-testid': 'run-progress', 'data-run-id': run.id, 'data-status': run.status },
      h(
        'p',
        { class: running ? null : 'verdict ok' },
        running
          ? t('expiry.runRunning', { id: run.id })
          : t('expiry.runFinished', {
              id: run.id,
              points: points(run.points_expired),
              n: count(run.participants_done),
            }),
      ),
      bar(
        t('expiry.runParticipants'),
        percentOf(run.participants_done, run.participants_due),
        t('expiry.ofDue', { done: count(run.participants_done), due: count(run.participants_due) }),
      ),
      h(
        'dl',
        { class: 'facts' },
        fact(
          t('expiry.runPoints'),
          t('expiry.ofDue', { done: points(run.points_expired), due: points(run.points_due) }),
          'run-points',
        ),
        fact(t('expiry.runWarnings'), count(run.warnings)),
        fact(t('expiry.runKind'), run.nightly ? t('expiry.nightly') : t('expiry.byHand')),
        fact(t('expiry.runWhen'), when(run.created_at)),
      ),
    );
  }

  /** Shows a run and, while it runs, reads it again every POLL_MS. */
  function follow(run) {
    if (stopped) return;
    following = run.id;
    if (runButton) runButton.disabled = true;
    replace(progress, progressView(run));
    listRun(run);
    if (run.status !== 'finished') {
      timer = setTimeout(() => poll(run.id), POLL_MS);
      return;
    }
    following = null;
    if (runButton) runButton.disabled = false;
    notify(
      t('expiry.runFinished', { id: run.id, points: points(run.points_expired), n: count(run.participants_done) }),
      'success',
    );
    refreshSettings();
  }

  async function poll(id) {
    timer = null;
    try {
      const run = await api(`/expiry/runs/${id}`);
      follow(run);
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

  async function runNow() {
    runButton.disabled = true;
    replace(progress);
    try {
      const run = await api('/expiry/runs', { method: 'POST', body: {} });
      notify(t('expiry.runStarted', { id: run.id }), 'success');
      follow(run);
    } catch (error) {
      replace(progress, problemBox(error));
      runButton.disabled = following !== null;
    }
  }

  root.append(
    h('h1', null, t('expiry.title')),
    h('p', { class: 'muted' }, t('expiry.intro')),
    h('section', { class: 'card', 'data-testid': 'expiry-rule' }, h('h2', null, t('expiry.ruleTitle')), ruleBody),
    dueSection,
    h(
      'section',
      { class: 'card', 'data-testid': 'expiry-runs' },
      h('div', { class: 'card-head' }, h('h2', null, t('expiry.runs')), runButton),
      h('p', { class: 'muted' }, t('expiry.runsIntro')),
      progress,
      paged.el,
    ),
  );
  firstLoad();

  return () => {
    stopped = true;
    clearTimeout(timer);
    paged.abort();
  };
}
