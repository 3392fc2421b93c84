// A participant's quests (`QuestProgress`): a chain of tasks in order, a set in any
// order, or a streak of days or weeks, with the steps done, the bonus and the next
// task to do. `update()` takes a `quest_progress` push.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { points, count, percentOf } from '../format.js';
import { bar } from './standing.js';

/** `taskTitle(id)` names the next task. Returns { el, update(progress) }. */
export function questList(quests, { taskTitle }) {
  const cards = new Map();
  const el = h('div', { class: 'quests' });

  function card(q) {
    return h(
      'article',
      { class: `card quest${q.completed ? ' quest-done' : ''}`, 'data-quest': q.quest_id },
      h(
        'div',
        { class: 'card-head' },
        h('h3', null, q.title),
        h('span', { class: 'badge' }, t(`quest.kind.${q.kind}`)),
      ),
      q.description ? h('p', { class: 'muted' }, q.description) : null,
      bar(
        t(q.kind === 'streak' ? 'quest.streak' : 'quest.steps'),
        percentOf(q.done, q.total),
        t('quest.progress', { done: count(q.done), total: count(q.total) }),
      ),
      h(
        'p',
        { class: 'small' },
        q.completed
          ? h('span', { class: 'badge status-approved' }, t('quest.paid', { bonus: points(q.bonus) }))
          : t('quest.bonus', { bonus: points(q.bonus) }),
        q.next_task_id && !q.completed
          ? [' · ', h('a', { href: `#task-${q.next_task_id}` }, t('quest.next', { task: taskTitle(q.next_task_id) }))]
          : null,
      ),
    );
  }

  function update(q) {
    const next = card(q);
    const old = cards.get(q.quest_id);
    if (old) old.replaceWith(next);
    else el.append(next);
    cards.set(q.quest_id, next);
  }

  replace(el);
  quests.forEach(update);
  return { el, update };
}
