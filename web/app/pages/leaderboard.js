// A campaign's leaderboard, live: pick a campaign and a window (the whole campaign, the
// day, the week, the month), see the top and — for a seller — their own rank among
// their neighbours. Boards are pushed on `campaign:{id}:leaderboard:{window}`; a
// seller's rank changes arrive on `me` as `rank_changed`. The choice stays in the
// address (`?campaign=&window=`), so a reload or a shared link shows the same board.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { count } from '../format.js';
import * as live from '../live.js';
import { filterBar } from '../components/filters.js';
import { problemBox } from '../components/problem.js';
import { leaderboard, mergePushed } from '../components/leaderboard.js';
import { loadCampaigns, campaignOptions } from '../components/campaigns.js';

const WINDOWS = ['campaign', 'day', 'week', 'month'];
const TOP = 10;

export function mount(root, { me, query }) {
  const participant = me.kind === 'participant';
  const picker = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  const notice = h('div', { class: 'rank-notice', 'aria-live': 'polite', 'data-testid': 'rank-notice' });
  const status = h('div');
  const board = leaderboard({ meId: me.id, participant });
  const card = h('section', { class: 'card', hidden: true }, board.el);
  root.append(h('h1', null, t('board.title')), picker, notice, status, card);

  const names = new Map();
  let current = null; // { campaign, window, view, live: whether a live view has arrived }
  let stopBoard = null;
  let controller = null;

  function fetchBoard(target) {
    controller?.abort();
    controller = new AbortController();
    return api(`/campaigns/${target.campaign}/leaderboard`, {
      signal: controller.signal,
      query: { window: target.window, around: participant ? 'me' : null, limit: TOP },
    });
  }

  function show(view) {
    current.view = view;
    replace(status);
    card.hidden = false;
    board.update(view);
  }

  // A pushed board has no neighbours for the viewer: ask for them when they may have moved.
  const refreshMine = debounce(() => {
    const target = current;
    if (!target || !participant) return;
    fetchBoard(target)
      .then((view) => current === target && show(view))
      .catch(() => {}); // the pushed top is still shown; the next push tries again
  }, 1000);

  function choose({ campaign, window }) {
    stopBoard?.();
    refreshMine.cancel();
    const target = { campaign, window, view: null, live: false };
    current = target;
    history.replaceState(null, '', `/leaderboard?campaign=${campaign}&window=${window}`);
    replace(status, h('p', { class: 'muted' }, t('common.loading')));
    fetchBoard(target)
      .then((view) => current === target && !target.live && show(view))
      .catch((error) => error.name !== 'AbortError' && current === target && replace(status, problemBox(error)));
    stopBoard = live.subscribe(`campaign:${campaign}:leaderboard:${window}`, (frame) => {
      if (current !== target) return;
      if (frame.type === 'snapshot') {
        target.live = true;
        show(frame.data);
      } else if (frame.type === 'event' && frame.event === 'leaderboard') {
        target.live = true;
        show(mergePushed(target.view, frame.data, me.id));
        if (participant && !frame.data.top.some((e) => e.participant_id === me.id)) refreshMine();
      } else if (frame.type === 'error') {
        replace(status, problemBox({ detail: frame.message, code: frame.code }));
      }
    });
  }

  loadCampaigns()
    .then((campaigns) => {
      if (!campaigns.length) return replace(picker, h('p', { class: 'notice' }, t('board.noCampaigns')));
      campaigns.forEach((c) => names.set(c.id, c.name));
      const wanted = query.get('window');
      const bar = filterBar({
        controls: [
          {
            name: 'campaign',
            label: t('board.campaign'),
            type: 'select',
            options: campaignOptions(campaigns),
            value: query.get('campaign'),
          },
          {
            name: 'window',
            label: t('board.window'),
            type: 'select',
            options: WINDOWS.map((w) => ({ value: w, label: t(`board.window.${w}`) })),
            value: WINDOWS.includes(wanted) ? wanted : 'campaign',
          },
        ],
        onChange: choose,
      });
      replace(picker, bar.el);
      choose(bar.values());
    })
    .catch((error) => replace(picker, problemBox(error)));

  // Staff have no `me`: rank changes are a seller's own.
  const stopMe = participant
    ? live.subscribe('me', (frame) => {
        if (frame.type !== 'event' || frame.event !== 'rank_changed') return;
        const change = frame.data;
        replace(notice, rankNotice(change, names.get(change.campaign_id) ?? `#${change.campaign_id}`));
        if (current && Number(current.campaign) === change.campaign_id) refreshMine();
      })
    : () => {};

  return () => {
    stopBoard?.();
    stopMe();
    controller?.abort();
    refreshMine.cancel();
  };
}

/** "You moved up to 3rd place in AquaLine winter (was 5)". */
function rankNotice(change, campaign) {
  let text;
  if (change.rank === null) text = t('board.rankLeft', { campaign });
  else if (change.previous === null) text = t('board.rankNew', { rank: count(change.rank), campaign });
  else
    text = t(change.rank < change.previous ? 'board.rankUp' : 'board.rankDown', {
      rank: count(change.rank),
      previous: count(change.previous),
      campaign,
    });
  return h(
    'p',
    { class: `notice ${change.previous === null || change.rank < change.previous ? 'notice-ok' : ''}` },
    text,
  );
}
