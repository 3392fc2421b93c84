// A store's live progress (`StoreProgress`): today / week / month, the monthly plan and
// sellers online. Owners see it on their stores; managers and admins on a store page.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { points, count } from '../format.js';

const PERCENT = /^\d+(\.\d+)?$/;

/** Returns { el, update(progress) }. */
export function progressCard() {
  const el = h('div', { class: 'progress' }, h('p', { class: 'muted' }, t('common.loading')));

  function period(label, p) {
    return h(
      'div',
      { class: 'period' },
      h('div', { class: 'tile-label' }, label),
      h('div', { class: 'tile-value' }, points(p.earned)),
      h(
        'div',
        { class: 'period-facts' },
        t('store.sales', { n: count(p.sales) }),
        ' · ',
        t('store.tasks', { n: count(p.tasks_completed) }),
      ),
    );
  }

  function plan(progress) {
    if (!progress.monthly_plan) return h('p', { class: 'muted' }, t('store.noPlan'));
    const pct = PERCENT.test(progress.plan_attainment ?? '') ? progress.plan_attainment : '0';
    // The percent is a decimal string; CSS clamps it, so it is never parsed into a float.
    return h(
      'div',
      { class: 'bar-block' },
      h(
        'div',
        { class: 'bar-label' },
        h('span', null, t('store.plan', { plan: points(progress.monthly_plan) })),
        h('strong', { 'data-testid': 'plan' }, `${pct}\u00a0%`),
      ),
      h(
        'div',
        { class: 'bar', role: 'progressbar', 'aria-label': t('store.planLabel'), 'aria-valuetext': `${pct} %` },
        h('div', { class: 'bar-fill', style: { width: `min(100%, ${pct}%)` } }),
      ),
    );
  }

  return {
    el,
    update(progress) {
      replace(
        el,
        h(
          'div',
          { class: 'periods', 'data-testid': 'progress' },
          period(t('store.today'), progress.today),
          period(t('store.week'), progress.week),
          period(t('store.month'), progress.month),
        ),
        plan(progress),
        h(
          'p',
          { class: 'online' },
          h('span', { class: progress.sellers_online > 0 ? 'dot dot-on' : 'dot', 'aria-hidden': 'true' }),
          t('store.online', { on: count(progress.sellers_online), total: count(progress.sellers_total) }),
        ),
      );
    },
  };
}
