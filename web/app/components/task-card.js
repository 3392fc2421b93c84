// One task as its participant sees it (`MyTask`): what to do and for how many points,
// where they stand this period, a sales plan's progress, the latest submission with the
// moderator's words, and — when it can be done now or must be fixed — its answer form.

import { h } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { points, count, when, toCents, percentOf } from '../format.js';
import { statusBadge } from './actions.js';
import { decisionText } from './decision.js';
import { bar } from './standing.js';
import { answerForm } from './task-answer.js';

/** States in which the seller can send something now. */
const OPEN = new Set(['available', 'rework']);

function facts(my) {
  const { task, period } = my;
  return h(
    'p',
    { class: 'muted small task-facts' },
    [
      tOr(`task.kind.${task.kind}`, task.kind),
      t('task.points', { points: points(task.points) }),
      task.recurrence !== 'none' ? t(`task.recurrence.${task.recurrence}`) : null,
      my.attempts_left !== null && my.attempts_left !== undefined
        ? t('task.attemptsLeft', { n: count(my.attempts_left) })
        : null,
      task.recurrence !== 'none' && period.end_ms ? t('task.renews', { when: when(period.end_ms) }) : null,
    ]
      .filter(Boolean)
      .join(' · '),
  );
}

/** A sales plan's progress against its targets. */
function planBars(spec, plan) {
  if (!plan) return null;
  return [
    spec.target_quantity
      ? bar(
          t('task.planQuantity'),
          percentOf(plan.quantity, spec.target_quantity),
          t('quest.progress', { done: count(plan.quantity), total: count(spec.target_quantity) }),
        )
      : null,
    spec.target_amount
      ? bar(
          t('task.planAmount'),
          percentOf(toCents(plan.amount), toCents(spec.target_amount)),
          t('quest.progress', { done: points(plan.amount), total: points(spec.target_amount) }),
        )
      : null,
  ];
}

/** The latest submission: status, when, a quiz's score, points, the moderator's words. */
function lastSubmission(s, state) {
  if (!s) return null;
  const rework = state === 'rework' && s.status === 'rework';
  return h(
    'div',
    { class: rework ? 'notice task-rework' : 'task-last', 'data-testid': 'last-submission' },
    rework
      ? h('p', { class: 'small' }, h('strong', null, t('task.reworkTitle')))
      : h(
          'p',
          { class: 'small' },
          t('task.lastSent', { when: when(s.created_at) }),
          ' ',
          statusBadge(s.status),
          s.max_score !== null && s.max_score !== undefined
            ? ` ${t('task.score', { score: count(s.score ?? 0), max: count(s.max_score) })}`
            : null,
          // `credited` stays on a submission whose hold was returned: show it only while
          // it is held or once it is paid.
          s.credited && s.status === 'approved' ? ` · ${points(s.credited, { signed: true })}` : null,
          s.credited && s.status === 'pending' ? ` · ${t('task.held', { points: points(s.credited) })}` : null,
        ),
    decisionText(s.decision_reason, s.decision_comment),
  );
}

/** Returns the card element. `onSubmitted(submission)` after a successful answer. */
export function taskCard(my, { onSubmitted }) {
  const { task, state } = my;
  const open = OPEN.has(state);
  const formSlot = h('div');
  const toggle = open
    ? h(
        'button',
        {
          type: 'button',
          class: state === 'rework' ? null : 'secondary',
          'aria-expanded': 'false',
          'data-action': 'open-task',
          onclick: () => {
            const opening = !formSlot.firstChild;
            if (opening) formSlot.replaceChildren(answerForm(my, { onSubmitted }));
            else formSlot.replaceChildren();
            toggle.setAttribute('aria-expanded', String(opening));
            toggle.textContent = t(opening ? 'common.cancel' : state === 'rework' ? 'task.fix' : 'task.start');
            if (opening) formSlot.querySelector('input, textarea, select, button')?.focus();
          },
        },
        t(state === 'rework' ? 'task.fix' : 'task.start'),
      )
    : null;

  return h(
    'article',
    { class: 'card task', id: `task-${task.id}`, 'data-task': task.id, 'data-state': state },
    h('div', { class: 'card-head' }, h('h3', null, task.title), statusBadge(state)),
    facts(my),
    task.description ? h('p', null, task.description) : null,
    task.spec.kind === 'training' && task.spec.url
      ? h('p', null, h('a', { href: task.spec.url, target: '_blank', rel: 'noopener' }, task.spec.course))
      : null,
    task.spec.kind === 'sales_plan' ? planBars(task.spec, my.plan) : null,
    lastSubmission(my.last_submission, state),
    state === 'pending' ? h('p', { class: 'muted small' }, t('task.waiting')) : null,
    toggle ? h('div', { class: 'actions' }, toggle) : null,
    formSlot,
  );
}
