// The seller's tasks and quests (`listMyTasks`): what is open now and where they stand,
// with an answer form per task. Pushes on `me` keep it current: `task_submission`
// (recorded or decided: the list is asked again, since the server knows the state)
// and `quest_progress` (a quest's card is replaced in place).

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { points } from '../format.js';
import * as live from '../live.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { taskCard } from '../components/task-card.js';
import { questList } from '../components/quests.js';

/** Decisions a seller is told about as they happen. */
const DECIDED = new Set(['approved', 'rejected', 'rework']);

export function mount(root) {
  const questSection = h('section', { 'aria-labelledby': 'quests-title', hidden: true });
  const taskSection = h(
    'section',
    { 'aria-labelledby': 'tasks-title' },
    h('p', { class: 'muted' }, t('common.loading')),
  );
  root.append(h('h1', null, t('tasks.title')), questSection, taskSection);

  const titles = new Map();
  const paid = new Set(); // quests whose bonus is paid: told once, not on every push
  let quests = null;
  let controller = null;

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      render(await api('/me/tasks', { signal: controller.signal }));
    } catch (error) {
      if (error.name !== 'AbortError') replace(taskSection, problemBox(error));
    }
  }
  const reload = debounce(load, 300);

  function submitted(submission) {
    notify(submittedText(submission), submission.status === 'failed' ? 'error' : 'success');
    load();
  }

  function render(mine) {
    mine.tasks.forEach((my) => titles.set(my.task.id, my.task.title));
    mine.quests.forEach((q) => q.completed && paid.add(q.quest_id));
    quests = questList(mine.quests, { taskTitle: (id) => titles.get(id) ?? `#${id}` });
    questSection.hidden = mine.quests.length === 0;
    replace(questSection, h('h2', { id: 'quests-title' }, t('quests.title')), quests.el);
    replace(
      taskSection,
      h('h2', { id: 'tasks-title' }, t('tasks.open')),
      mine.tasks.length
        ? mine.tasks.map((my) => taskCard(my, { onSubmitted: submitted }))
        : h('p', { class: 'muted' }, t('tasks.none')),
    );
  }

  const stop = live.subscribe('me', (frame) => {
    if (frame.type !== 'event') return;
    if (frame.event === 'quest_progress') {
      quests?.update(frame.data);
      if (frame.data.completed && !paid.has(frame.data.quest_id)) {
        paid.add(frame.data.quest_id);
        notify(t('quest.completed', { title: frame.data.title, bonus: points(frame.data.bonus) }), 'success');
      }
    } else if (frame.event === 'task_submission') {
      const s = frame.data;
      if (s.requires_moderation && s.decided_at && DECIDED.has(s.status)) {
        notify(t(`task.decided.${s.status}`, { task: titles.get(s.task_id) ?? `#${s.task_id}` }), 'info');
      }
      // A form being filled in would be lost: only reload when none is open.
      if (!taskSection.querySelector('.task-answer')) reload();
    }
  });

  load();
  return () => {
    stop();
    reload.cancel();
    controller?.abort();
  };
}

/** What the seller is told right after sending: paid, waiting, or a failed quiz. */
function submittedText(s) {
  if (s.status === 'failed') return t('task.sent.failed', { score: s.score ?? 0, max: s.max_score ?? 0 });
  if (s.status === 'pending') return t('task.sent.pending');
  return s.credited ? t('task.sent.credited', { points: points(s.credited, { signed: true }) }) : t('task.sent.done');
}
