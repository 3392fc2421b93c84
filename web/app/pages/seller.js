// The seller's page (every participant): balance, level and the way to the next level,
// kept live over the `me` topic, then the points history. Cards lead to the ways of
// earning (codes and receipts, tasks, the leaderboard) and to payouts to a card.

import { h, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { points, isZero } from '../format.js';
import * as live from '../live.js';
import { api } from '../api.js';
import { standingCard } from '../components/standing.js';
import { historyList } from '../components/history.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';

const PENDING_POLL_MS = 30_000;

/** The ways of earning, and of cashing out, one card each, linked to its page. */
const SLOTS = [
  { path: '/codes', title: 'slot.codes', text: 'slot.codesText' },
  { path: '/tasks', title: 'slot.tasks', text: 'slot.tasksText' },
  { path: '/leaderboard', title: 'slot.leaderboard', text: 'slot.leaderboardText' },
  { path: '/payouts', title: 'slot.payouts', text: 'slot.payoutsText' },
];

export function mount(root, { me }) {
  root.append(h('h1', null, t('seller.title', { name: me.name })));
  if (me.status === 'pending') {
    // Pending accounts may read getMe only: nothing else would answer.
    root.append(
      h(
        'section',
        { class: 'card notice' },
        h('h2', null, t('seller.pendingTitle')),
        h('p', null, t('seller.pendingText')),
      ),
    );
    // Approval is not pushed to pending accounts (they have no socket): ask now and then,
    // and start over as an active participant once approved.
    const timer = setInterval(async () => {
      const fresh = await api('/me').catch(() => null);
      if (fresh && fresh.status !== 'pending') location.reload();
    }, PENDING_POLL_MS);
    return () => clearInterval(timer);
  }

  const standing = standingCard({
    user_id: me.id,
    balance: me.balance,
    level: me.level,
    next_level: me.next_level,
    completed_tasks: me.completed_tasks ?? 0,
  });
  const errors = h('div');
  const history = historyList('/me/transactions');
  // A burst of credits reloads the history once.
  const reloadHistory = debounce(() => history.reload(), 500);

  root.append(
    standing.el,
    errors,
    h(
      'section',
      { class: 'slots', 'aria-label': t('slot.label') },
      SLOTS.map((s) =>
        h(
          'a',
          { class: 'card slot', href: s.path, 'data-slot': s.path.slice(1) },
          h('h2', null, t(s.title)),
          h('p', { class: 'muted' }, t(s.text)),
        ),
      ),
    ),
    h('section', { class: 'card' }, h('h2', null, t('history.title')), history.el),
  );

  const stop = live.subscribe('me', (frame) => {
    if (frame.type === 'snapshot') {
      errors.replaceChildren();
      standing.update(frame.data);
    } else if (frame.type === 'event' && frame.event === 'balance_changed') {
      standing.update(frame.data);
      reloadHistory();
      if (!isZero(frame.data.delta_available ?? '0')) {
        notify(t('seller.changed', { amount: points(frame.data.delta_available, { signed: true }) }), 'success');
      }
    } else if (frame.type === 'event' && frame.event === 'level_up') {
      notify(t('seller.levelUp', { name: frame.data.to.name, x: frame.data.to.multiplier }), 'success');
    } else if (frame.type === 'error') {
      errors.replaceChildren(problemBox({ detail: frame.message, code: frame.code }));
    }
  });

  return () => {
    stop();
    reloadHistory.cancel();
  };
}
