// A campaign leaderboard (`BoardView`): the top, the viewer's rank with their
// neighbours when they are below the top, how many are on the board and when the
// window starts over. The viewer's own line is highlighted.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { points, count, when } from '../format.js';
import { table } from './table.js';

/** A score as the campaign ranks: points, or percent of a personal plan. */
function score(view, value) {
  return view.ranking === 'plan_percent' ? `${value}\u00a0%` : points(value);
}

function entries(view, meId, caption, rows) {
  const mine = (e) => e.participant_id === meId;
  return table({
    caption,
    rowKey: (e) => e.participant_id,
    rowClass: (e) => (mine(e) ? 'mine' : null),
    rows,
    keep: true,
    empty: t('board.empty'),
    columns: [
      { label: t('board.rank'), numeric: true, render: (e) => count(e.rank) },
      {
        label: t('board.name'),
        render: (e) => [e.name, mine(e) ? h('span', { class: 'badge' }, t('board.you')) : null],
      },
      { label: t('board.score'), numeric: true, render: (e) => score(view, e.score) },
    ],
  });
}

/**
 * Pushed boards carry the top only (a push goes to everyone watching): keep the
 * viewer's rank and neighbours from the last full view, and take the rank from the
 * top when the viewer is in it.
 */
export function mergePushed(last, pushed, meId) {
  const inTop = pushed.top.find((e) => e.participant_id === meId);
  return {
    ...pushed,
    my_rank: inTop ? inTop.rank : (last?.my_rank ?? null),
    around: last?.around ?? [],
  };
}

/** Returns { el, update(view) }. `meId`: whose line to highlight. */
export function leaderboard({ meId, participant }) {
  const facts = h('div', { class: 'board-facts', 'aria-live': 'polite' });
  const top = h('div');
  const around = h('div');
  const el = h('div', { class: 'board', 'data-testid': 'board' }, facts, top, around);

  function rankFact(view) {
    if (!participant) return t('board.total', { n: count(view.total) });
    if (view.my_rank === null || view.my_rank === undefined) return t('board.notRanked', { n: count(view.total) });
    return t('board.myRank', { rank: count(view.my_rank), n: count(view.total) });
  }

  function update(view) {
    const resets = view.window === 'campaign' ? 'board.endsAt' : 'board.resetsAt';
    replace(
      facts,
      h('p', { class: 'board-rank', 'data-testid': 'my-rank' }, rankFact(view)),
      h('p', { class: 'muted' }, t(resets, { when: when(view.resets_at) })),
    );
    replace(top, entries(view, meId, t('board.top'), view.top).el);
    // Neighbours matter only when the viewer is below the top.
    const below = view.my_rank && !view.top.some((e) => e.participant_id === meId) && view.around.length;
    replace(around, below ? entries(view, meId, t('board.around'), view.around).el : null);
  }

  return { el, update };
}
