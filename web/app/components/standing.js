// A participant's standing (`ParticipantView`: balances, level, the way to the next
// level, and the debt a recalculation left), as the seller sees their own and an owner
// sees each seller's. `update()` takes every later view (WebSocket events carry the
// whole standing, not a delta).

import { h, replace } from '../dom.js';
import { t, tn } from '../i18n.js';
import { points, count, toCents, percentOf } from '../format.js';

/** Whether a debt (`debt` of a ParticipantView, a decimal string) is above zero. */
export function hasDebt(debt) {
  try {
    return toCents(debt ?? '0') > 0n;
  } catch {
    return false;
  }
}

/**
 * A debt in words, or null when nothing is owed: "You owe 5.00 points: your next
 * points pay it off first" (`own`), or "Owes 5.00 points: …" as staff read it.
 */
export function debtText(debt, { own = true } = {}) {
  if (!hasDebt(debt)) return null;
  return own ? tn('debt.own', debt, { n: points(debt) }) : tn('debt.theirs', debt, { n: points(debt) });
}

/** A labelled progress bar; `percent` is a whole number 0–100. */
export function bar(label, percent, text) {
  return h(
    'div',
    { class: 'bar-block' },
    h('div', { class: 'bar-label' }, h('span', null, label), h('span', null, text)),
    h(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-label': label,
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': percent,
      },
      h('div', { class: 'bar-fill', style: { width: `${percent}%` } }),
    ),
  );
}

function amountTile(label, value, { main = false, testid } = {}) {
  return h(
    'div',
    { class: main ? 'tile tile-main' : 'tile' },
    h('div', { class: 'tile-label' }, label),
    h('div', { class: 'tile-value', 'data-testid': testid }, points(value)),
  );
}

/**
 * The debt under the balances: hidden while nothing is owed. `own`: the participant's
 * own page ("You owe…"), else a staff member's view of them ("Owes…").
 */
function debtNotice({ own }) {
  const text = h('p', { class: 'debt-text', 'data-testid': 'debt-text' });
  const el = h(
    'div',
    { class: 'notice debt', 'data-testid': 'debt', role: 'status', hidden: true },
    text,
    h('p', { class: 'muted small' }, own ? t('debt.ownWhy') : t('debt.theirsWhy')),
  );
  return {
    el,
    show(debt) {
      const words = debtText(debt, { own });
      el.hidden = !words;
      el.dataset.debt = words ? debt : '0.00';
      replace(text, words ?? '');
    },
  };
}

/** Returns { el, update(view) }. `own`: false where staff look at a participant. */
export function standingCard(view, { own = true } = {}) {
  const balances = h('div', { class: 'tiles', 'aria-live': 'polite' });
  const debt = debtNotice({ own });
  const level = h('div', { class: 'level' });
  const el = h('section', { class: 'card standing', 'aria-label': t('standing.title') }, balances, debt.el, level);
  let last = null;

  function update(next) {
    if (!next) return;
    // A view without `debt` (an older server) keeps the debt last shown.
    if (!('debt' in next) && last) next = { ...next, debt: last.debt };
    debt.show(next.debt);
    const b = next.balance;
    const changed = last && last.balance.available !== b.available;
    replace(
      balances,
      amountTile(t('standing.available'), b.available, { main: true, testid: 'available' }),
      amountTile(t('standing.pending'), b.pending, { testid: 'pending' }),
      amountTile(t('standing.lifetime'), b.lifetime, { testid: 'lifetime' }),
    );
    if (changed) {
      // Restart the highlight animation so every change is visible.
      balances.classList.remove('flash');
      void balances.offsetWidth;
      balances.classList.add('flash');
    }
    replace(level, levelBlock(next));
    last = next;
  }

  update(view);
  return { el, update };
}

/**
 * The balance alone (available and pending), for pages where earning happens (codes):
 * the same tiles as the standing card. Returns { el, update(view) }.
 */
export function balanceStrip() {
  const el = h('div', { class: 'tiles tiles-strip', 'aria-live': 'polite', 'aria-label': t('standing.title') });
  let last = null;
  return {
    el,
    update(view) {
      if (!view) return;
      const b = view.balance;
      replace(
        el,
        amountTile(t('standing.available'), b.available, { main: true, testid: 'available' }),
        amountTile(t('standing.pending'), b.pending, { testid: 'pending' }),
      );
      if (last && (last.available !== b.available || last.pending !== b.pending)) {
        el.classList.remove('flash');
        void el.offsetWidth;
        el.classList.add('flash');
      }
      last = b;
    },
  };
}

function levelBlock(view) {
  const lv = view.level;
  const head = h(
    'div',
    { class: 'level-head' },
    h('span', { class: 'badge badge-level', 'data-testid': 'level' }, lv.name),
    h('span', { class: 'muted' }, t('standing.multiplier', { x: lv.multiplier })),
  );
  const next = view.next_level;
  if (!next) return [head, h('p', { class: 'muted' }, t('standing.topLevel'))];
  const lifetime = toCents(view.balance.lifetime);
  const remaining = toCents(next.remaining_points);
  const tasksDone = view.completed_tasks ?? 0;
  return [
    head,
    h('p', null, t('standing.toNext', { name: next.name, x: next.multiplier })),
    bar(
      t('standing.points'),
      percentOf(lifetime, lifetime + remaining),
      remaining > 0n ? t('standing.pointsLeft', { n: points(next.remaining_points) }) : t('standing.done'),
    ),
    bar(
      t('standing.tasks'),
      percentOf(tasksDone, tasksDone + next.remaining_tasks),
      next.remaining_tasks > 0 ? t('standing.tasksLeft', { n: count(next.remaining_tasks) }) : t('standing.done'),
    ),
  ];
}
