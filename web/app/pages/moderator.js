// The moderator's live queue. Subscribing to `moderation` (with a capacity) makes the
// server route items to this tab: the snapshot lists what is held, `item_assigned`
// adds, `item_revoked` removes. Decisions go out as `decide` frames (over HTTP when
// the socket is down) and come back as `decided` or an `error` with the item's id.
// The side panel follows `moderation_stats`. Keys: J/K move, A approve, R reject,
// W rework, Esc closes a panel.

import { h, replace } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { api, newIdempotencyKey } from '../api.js';
import { can, session } from '../session.js';
import * as live from '../live.js';
import { count, duration } from '../format.js';
import { moderationItem } from '../components/moderation-item.js';
import { problemBox, describe } from '../components/problem.js';
import { table } from '../components/table.js';
import { notify } from '../components/toast.js';

const CAPACITIES = [1, 3, 5, 10, 20, 50];
const CAPACITY_KEY = 'stimul.capacity';

export function mount(root) {
  const stops = [];
  const layout = h('div', { class: 'mod-layout' });
  root.append(h('h1', null, t('mod.title')), layout);

  const queue = can('moderation.edit') ? queuePanel(stops) : null;
  const stats = can('moderation.view') ? statsPanel(stops) : null;
  layout.append(...[queue?.el, stats?.el].filter(Boolean));

  return () => {
    stops.forEach((stop) => stop());
    queue?.dispose();
  };
}

function queuePanel(stops) {
  const cards = new Map(); // item id → card
  let reasons = [];
  let active = null; // the id the keys act on
  const list = h('div', { class: 'items', 'aria-live': 'polite' });
  const note = h('div');
  const empty = h('p', { class: 'muted empty-queue' }, t('mod.empty'));
  const saved = Number(sessionStorage.getItem(CAPACITY_KEY)) || 5;
  const capacity = h(
    'select',
    {
      id: 'capacity',
      onchange: () => {
        sessionStorage.setItem(CAPACITY_KEY, capacity.value);
        live.resubscribe('moderation', { capacity: Number(capacity.value) });
      },
    },
    CAPACITIES.map((n) => h('option', { value: String(n), selected: n === saved }, String(n))),
  );
  const el = h(
    'section',
    { class: 'mod-queue', 'aria-label': t('mod.queue') },
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'capacity' }, t('mod.capacity')),
      capacity,
      h('span', { class: 'muted small keys-hint' }, t('mod.keys')),
    ),
    note,
    list,
  );

  function refreshEmpty() {
    if (cards.size === 0) list.append(empty);
    else empty.remove();
  }

  function add(item) {
    if (cards.has(item.id)) return;
    const card = moderationItem(item, { reasons: () => reasons, onDecide: send });
    card.el.addEventListener('focusin', () => setActive(item.id));
    card.el.addEventListener('click', () => setActive(item.id));
    card.tick(Date.now());
    cards.set(item.id, card);
    list.append(card.el);
    if (active === null) setActive(item.id);
    refreshEmpty();
  }

  function remove(id) {
    const card = cards.get(id);
    if (!card) return;
    card.dispose();
    card.el.remove();
    cards.delete(id);
    if (active === id) setActive(cards.keys().next().value ?? null);
    refreshEmpty();
  }

  function setActive(id) {
    active = id;
    for (const [key, card] of cards) card.el.classList.toggle('active', key === id);
  }

  function send(item, decision, extra) {
    const frame = { type: 'decide', item_id: item.id, decision, ...extra };
    if (live.send(frame)) return;
    // No socket: the same decision over HTTP, so a flaky connection does not block work.
    api(`/moderation/items/${item.id}/decision`, {
      method: 'POST',
      idempotencyKey: newIdempotencyKey(),
      body: { decision, ...extra },
    })
      .then((answer) => decided(answer))
      .catch((error) => cards.get(item.id)?.showError(describe(error)));
  }

  function decided(frame) {
    const card = cards.get(frame.item_id);
    if (!card) return;
    card.showDone(frame.decision);
    // Leave the outcome visible for a moment; `item_revoked` may remove it sooner.
    setTimeout(() => remove(frame.item_id), 1500);
  }

  stops.push(
    live.onFrame((frame) => {
      if (frame.type === 'decided') decided(frame);
      else if (frame.type === 'error' && frame.item_id) cards.get(frame.item_id)?.showError(frame.message);
    }),
  );

  api('/moderation/reasons')
    .then((list) => {
      reasons = list;
    })
    .catch(() => {});

  stops.push(
    live.subscribe(
      'moderation',
      (frame) => {
        if (frame.type === 'error') return replace(note, problemBox({ detail: frame.message, code: frame.code }));
        replace(note);
        if (frame.type === 'snapshot') {
          const held = new Set(frame.data.items.map((i) => i.id));
          for (const id of [...cards.keys()]) if (!held.has(id)) remove(id);
          frame.data.items.forEach(add);
          capacity.value = String(frame.data.capacity ?? capacity.value);
        } else if (frame.event === 'item_assigned') {
          add(frame.data);
        } else if (frame.event === 'item_revoked') {
          const card = cards.get(frame.data.item_id);
          if (card && frame.data.reason === 'lease_expired')
            notify(t('mod.leaseExpired', { id: frame.data.item_id }), 'error');
          if (card && frame.data.reason === 'withdrawn') notify(t('mod.withdrawn', { id: frame.data.item_id }));
          if (card && !card.el.classList.contains('decided')) remove(frame.data.item_id);
        }
      },
      { capacity: saved },
    ),
  );

  // One timer for every card's lease countdown.
  const timer = setInterval(() => {
    const now = Date.now();
    for (const card of cards.values()) card.tick(now);
  }, 1000);

  function onKey(event) {
    if (event.target.closest('input, textarea, select, dialog') || event.ctrlKey || event.metaKey || event.altKey)
      return;
    const ids = [...cards.keys()];
    const card = cards.get(active);
    const key = event.key.toLowerCase();
    if ((key === 'j' || key === 'arrowdown') && ids.length) move(ids, 1);
    else if ((key === 'k' || key === 'arrowup') && ids.length) move(ids, -1);
    else if (key === 'a' && card) card.decide('approve');
    else if (key === 'r' && card) card.openPanel('reject');
    else if (key === 'w' && card) card.openPanel('rework');
    else return;
    event.preventDefault();
  }
  function move(ids, step) {
    const index = Math.max(0, Math.min(ids.length - 1, ids.indexOf(active) + step));
    setActive(ids[index]);
    cards.get(ids[index]).el.focus();
  }
  document.addEventListener('keydown', onKey);

  refreshEmpty();
  return {
    el,
    dispose() {
      clearInterval(timer);
      document.removeEventListener('keydown', onKey);
      for (const card of cards.values()) card.dispose();
    },
  };
}

function statsPanel(stops) {
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  const el = h('aside', { class: 'card mod-stats', 'aria-label': t('mod.stats') }, h('h2', null, t('mod.stats')), body);
  const me = session.me();

  function render(s) {
    const queued = Object.entries(s.queued ?? {});
    const decisions = Object.entries(s.decisions_last_hour ?? {});
    replace(
      body,
      h(
        'dl',
        { class: 'facts' },
        fact(t('mod.queuedTotal'), count(queued.reduce((sum, [, n]) => sum + n, 0))),
        fact(t('mod.assigned'), count(s.assigned)),
        fact(t('mod.oldest'), s.oldest_queued_ms ? duration(s.oldest_queued_ms) : '—'),
        fact(t('mod.p50'), duration(s.time_to_decision_p50_ms)),
        fact(t('mod.p95'), duration(s.time_to_decision_p95_ms)),
        fact(t('mod.online'), count(s.moderators_online)),
      ),
      h('h3', null, t('mod.byKind')),
      table({
        empty: t('mod.nothingQueued'),
        rowKey: (r) => r[0],
        columns: [
          { label: t('mod.kind'), render: (r) => tOr(`mod.kind.${r[0]}`, r[0]) },
          { label: t('mod.queued'), numeric: true, render: (r) => count(r[1]) },
        ],
        rows: queued,
      }).el,
      h('h3', null, t('mod.decisions')),
      table({
        empty: t('mod.noDecisions'),
        rowKey: (r) => r[0],
        columns: [
          { label: t('mod.moderator'), render: (r) => (String(me?.id) === r[0] ? t('mod.you') : `#${r[0]}`) },
          { label: t('mod.decisionsCount'), numeric: true, render: (r) => count(r[1]) },
        ],
        rows: decisions,
      }).el,
    );
  }

  stops.push(
    live.subscribe('moderation_stats', (frame) => {
      if (frame.type === 'error') replace(body, problemBox({ detail: frame.message, code: frame.code }));
      else render(frame.data);
    }),
  );
  return { el };
}

function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value));
}
