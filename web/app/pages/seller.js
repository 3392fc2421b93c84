// The seller's page (every participant): balance, level and the way to the next level,
// kept live over the `me` topic, then the points history. Under the standing, a notice
// of the next expiry (`expiring` of getMe and the `me` snapshot; a `points_expiring`
// warning shows a toast), with every coming expiry folded under it, so points are
// spent before they are gone. When a recalculation took back more than the balance,
// the standing says what they owe and that their next points pay it off first (`debt`
// of getMe, the `me` snapshot and every `balance_changed`), and a toast says when it is
// paid off. Cards lead to the ways of earning (codes and receipts,
// tasks, the leaderboard), to payouts to a card, to tax (their tax number and
// certificate of income), to support (their requests) and to their message settings
// (SMS, e-mail, push, quiet hours); more cards to the news
// (with how many are unread), the program's rules and the FAQ.

import { h, debounce } from '../dom.js';
import { t, tn } from '../i18n.js';
import { points, isZero, day, count } from '../format.js';
import * as live from '../live.js';
import { api } from '../api.js';
import { standingCard, hasDebt } from '../components/standing.js';
import { historyList } from '../components/history.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { expiringCard } from '../components/expiry.js';

const PENDING_POLL_MS = 30_000;

/** The ways of earning, and of cashing out, one card each, linked to its page. */
const SLOTS = [
  { path: '/codes', title: 'slot.codes', text: 'slot.codesText' },
  { path: '/tasks', title: 'slot.tasks', text: 'slot.tasksText' },
  { path: '/leaderboard', title: 'slot.leaderboard', text: 'slot.leaderboardText' },
  { path: '/payouts', title: 'slot.payouts', text: 'slot.payoutsText' },
  { path: '/tax', title: 'slot.tax', text: 'slot.taxText' },
  { path: '/support', title: 'slot.support', text: 'slot.supportText' },
  { path: '/settings', title: 'slot.settings', text: 'slot.settingsText' },
];

/** What the program tells its people: news (the unread count as a badge), rules, FAQ. */
const ABOUT = [
  { path: '/news', title: 'slot.news', text: 'slot.newsText' },
  { path: '/rules', title: 'slot.rules', text: 'slot.rulesText' },
  { path: '/faq', title: 'slot.faq', text: 'slot.faqText' },
];

/** The cards to the news, rules and FAQ; the news card's badge says how many are unread. */
function aboutCards() {
  const badge = h('span', { class: 'badge unread-count', 'data-testid': 'news-badge', hidden: true });
  api('/news', { query: { limit: 1 } })
    .then((page) => {
      if (!page.unread) return;
      badge.textContent = count(page.unread);
      badge.title = tn('news.unread', page.unread);
      badge.setAttribute('aria-label', badge.title);
      badge.hidden = false;
    })
    .catch(() => {});
  return h(
    'section',
    { class: 'slots slots-about', 'aria-label': t('slot.aboutLabel') },
    ABOUT.map((s) =>
      h(
        'a',
        { class: 'card slot', href: s.path, 'data-slot': s.path.slice(1) },
        h('h2', null, t(s.title), s.path === '/news' ? badge : null),
        h('p', { class: 'muted' }, t(s.text)),
      ),
    ),
  );
}

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
    debt: me.debt ?? '0.00',
  });
  let owed = hasDebt(me.debt);
  const expiring = expiringCard();
  expiring.show(me.expiring ?? null);
  const errors = h('div');
  const history = historyList('/me/transactions');
  // A burst of credits reloads the history once.
  const reloadHistory = debounce(() => history.reload(), 500);
  // Spending takes the points that expire soonest, and an expiry run takes them away:
  // after a change of balance the next expiry is read again (once per burst).
  const reloadExpiring = debounce(() => expiring.refresh(), 500);

  root.append(
    standing.el,
    expiring.el,
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
    aboutCards(),
    h('section', { class: 'card' }, h('h2', null, t('history.title')), history.el),
  );

  const stop = live.subscribe('me', (frame) => {
    if (frame.type === 'snapshot') {
      errors.replaceChildren();
      standing.update(frame.data);
      if ('debt' in frame.data) owed = hasDebt(frame.data.debt);
      if ('expiring' in frame.data) expiring.show(frame.data.expiring ?? null);
    } else if (frame.type === 'event' && frame.event === 'balance_changed') {
      standing.update(frame.data);
      if ('debt' in frame.data) {
        const owes = hasDebt(frame.data.debt);
        if (owed && !owes) notify(t('debt.paidOff'), 'success');
        owed = owes;
      }
      reloadHistory();
      reloadExpiring();
      if (!isZero(frame.data.delta_available ?? '0')) {
        notify(t('seller.changed', { amount: points(frame.data.delta_available, { signed: true }) }), 'success');
      }
    } else if (frame.type === 'event' && frame.event === 'points_expiring') {
      const { amount, on } = frame.data;
      notify(tn('expiry.warning', amount, { n: points(amount), date: day(on) }), 'info');
      expiring.warned(frame.data);
      reloadExpiring();
    } else if (frame.type === 'event' && frame.event === 'level_up') {
      notify(t('seller.levelUp', { name: frame.data.to.name, x: frame.data.to.multiplier }), 'success');
    } else if (frame.type === 'error') {
      errors.replaceChildren(problemBox({ detail: frame.message, code: frame.code }));
    }
  });

  return () => {
    stop();
    reloadHistory.cancel();
    reloadExpiring.cancel();
  };
}
