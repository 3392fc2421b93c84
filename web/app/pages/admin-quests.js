// Staff with program-wide `tasks.view`: the program's quests (`listQuests`): a chain of
// tasks in order, a set in any order, or a streak of days or weeks with any of its
// tasks, each with its tasks by name, its bonus, when it runs, its audience and status.
// With `tasks.edit`: a new quest and a change of one (`createQuest`, `updateQuest`; the
// kind stays), its tasks picked and ordered from the program's tasks, the server's field
// errors under their fields; switching a quest on and off.

import { h, replace, append } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can, canAny } from '../session.js';
import { points } from '../format.js';
import { table } from '../components/table.js';
import { formDialog, actionButton } from '../components/actions.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { taskOrder, audienceFields } from '../components/task-editor.js';
import {
  QUEST_KINDS,
  RECURRENCES,
  STREAK_UNITS,
  LIMITS,
  kindLabel,
  questKindLabel,
  recurrenceLabel,
  questBody,
  questValues,
  questFieldErrors,
  describeQuest,
  describeQuestSchedule,
  describeAudience,
} from '../components/task-admin.js';

const UNIT_LABELS = {
  day: () => t('questsAdmin.unit.day'),
  week: () => t('questsAdmin.unit.week'),
};

/** Every task of the program (pages of 200), for names and the editor's choices. */
async function allTasks(signal) {
  const tasks = [];
  let cursor = null;
  for (let page = 0; page < 20; page += 1) {
    const answer = await api('/tasks', { signal, query: { cursor, limit: 200 } });
    tasks.push(...(answer.items ?? []));
    cursor = answer.next_cursor ?? null;
    if (!cursor) break;
  }
  return tasks;
}

export function mount(root) {
  const editor = can('tasks.edit');
  const tasks = new Map();
  const names = { regions: new Map(), levels: new Map() };
  let regionList = [];
  let levelList = [];
  const controller = new AbortController();

  const taskName = (id) => tasks.get(id)?.title ?? `#${id}`;

  const list = table({
    empty: t('questsAdmin.none'),
    columns: [
      {
        label: t('questsAdmin.titleLabel'),
        render: (q) => [
          h('strong', { 'data-quest-title': q.title }, q.title),
          q.description ? h('div', { class: 'muted small' }, q.description) : null,
        ],
      },
      { label: t('questsAdmin.kind'), render: (q) => h('span', { class: 'badge' }, questKindLabel(q.kind)) },
      {
        label: t('questsAdmin.tasksLabel'),
        render: (q) => [
          h('div', null, describeQuest(q)),
          h(
            q.kind === 'chain' ? 'ol' : 'ul',
            { class: 'quest-tasks small' },
            q.task_ids.map((id) => h('li', { 'data-task-id': id }, taskName(id))),
          ),
        ],
      },
      {
        label: t('questsAdmin.bonus'),
        numeric: true,
        render: (q) => h('span', { 'data-testid': 'quest-bonus' }, points(q.bonus)),
      },
      { label: t('questsAdmin.when'), render: (q) => describeQuestSchedule(q) },
      { label: t('tasksAdmin.audience'), wide: true, render: (q) => describeAudience(q.audience, names) },
      {
        label: t('tasksAdmin.status'),
        render: (q) =>
          h(
            'span',
            {
              class: `badge status-${q.active ? 'active' : 'disconnected'}`,
              'data-status': q.active ? 'active' : 'inactive',
            },
            q.active ? t('tasksAdmin.active') : t('tasksAdmin.inactive'),
          ),
      },
      {
        label: t('common.actions'),
        render: (q) =>
          editor
            ? h(
                'div',
                { class: 'row-actions' },
                actionButton(t('tasksAdmin.edit'), async () => edit(q), { testid: 'edit-quest' }),
                actionButton(
                  q.active ? t('tasksAdmin.deactivate') : t('tasksAdmin.activate'),
                  async () => {
                    const saved = await api(`/quests/${q.id}`, { method: 'PATCH', body: { active: !q.active } });
                    list.update(saved);
                    notify(
                      t(saved.active ? 'tasksAdmin.activated' : 'tasksAdmin.deactivated', { title: saved.title }),
                      'success',
                    );
                  },
                  { testid: q.active ? 'deactivate' : 'activate' },
                ),
              )
            : '',
      },
    ],
  });

  const status = h('div', { class: 'paging-status', 'aria-live': 'polite' });
  const createButton = editor
    ? h(
        'button',
        { type: 'button', 'data-action': 'create-quest', disabled: true, onclick: () => edit(null) },
        t('questsAdmin.create'),
      )
    : null;

  // `append` skips what this person does not get (null).
  append(root, [
    h('div', { class: 'page-head' }, h('h1', null, t('questsAdmin.title')), createButton),
    h('p', { class: 'muted' }, t('questsAdmin.intro')),
    editor ? null : h('p', { class: 'notice' }, t('questsAdmin.readOnly')),
    h('section', { class: 'card', 'data-testid': 'quests' }, list.el, status),
  ]);

  async function load() {
    replace(status, t('common.loading'));
    try {
      const [quests, taskList] = await Promise.all([
        api('/quests', { signal: controller.signal }),
        allTasks(controller.signal),
      ]);
      tasks.clear();
      taskList.forEach((task) => tasks.set(task.id, task));
      list.setRows(quests ?? []);
      replace(status);
      if (createButton) createButton.disabled = false;
    } catch (error) {
      if (error.name === 'AbortError') return;
      list.setRows([]);
      replace(
        status,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
      );
    }
  }
  load();

  const optional = (section, path) =>
    canAny(`${section}.view`, `${section}.edit`) ? api(path).catch(() => null) : Promise.resolve(null);
  Promise.all([optional('regions', '/regions'), api('/program').catch(() => null)]).then(([r, program]) => {
    if (controller.signal.aborted) return;
    regionList = r ?? [];
    levelList = (program?.levels ?? []).map((level, index) => ({ value: index, label: level.name }));
    regionList.forEach((x) => names.regions.set(x.id, x.name));
    levelList.forEach((x) => names.levels.set(x.value, x.label));
    list.setRows(list.rows());
  });

  /** The create (quest = null) or edit dialog. */
  function edit(quest) {
    const values = questValues(quest);
    const options = [...tasks.values()].map((task) => ({
      value: task.id,
      label: task.active
        ? t('questsAdmin.taskOption', { title: task.title, kind: kindLabel(task.kind) })
        : t('questsAdmin.taskOptionOff', { title: task.title, kind: kindLabel(task.kind) }),
    }));
    const order = taskOrder(options, values.task_ids, { label: t('questsAdmin.tasksLabel') });
    const f = formDialog(quest ? t('questsAdmin.editTitle', { title: quest.title }) : t('questsAdmin.create'), {
      className: 'form-wide form-quest',
      fields: [
        {
          name: 'kind',
          label: t('questsAdmin.kind'),
          type: 'select',
          value: values.kind,
          options: QUEST_KINDS.map((k) => ({ value: k, label: questKindLabel(k) })),
          hint: quest ? t('questsAdmin.kindFixed') : t('questsAdmin.kindHint'),
          attrs: quest ? { disabled: true } : null,
        },
        { name: 'title', label: t('questsAdmin.titleLabel'), required: true, value: values.title },
        {
          name: 'description',
          label: t('tasksAdmin.description'),
          type: 'textarea',
          rows: 2,
          value: values.description,
        },
        {
          name: 'task_ids',
          label: t('questsAdmin.tasksLabel'),
          type: 'custom',
          control: order,
          hint: t('questsAdmin.tasksHint', { max: LIMITS.questTasks }),
        },
        {
          name: 'bonus',
          label: t('questsAdmin.bonus'),
          type: 'amount',
          required: true,
          value: values.bonus,
          hint: t('questsAdmin.bonusHint'),
        },
        {
          name: 'recurrence',
          label: t('tasksAdmin.recurrence'),
          type: 'select',
          value: values.recurrence,
          options: RECURRENCES.map((r) => ({ value: r, label: recurrenceLabel(r) })),
          hint: t('questsAdmin.recurrenceHint'),
        },
        {
          name: 'streak_length',
          label: t('questsAdmin.streakLength'),
          type: 'number',
          value: values.streak_length,
          hint: t('questsAdmin.streakLengthHint', { max: LIMITS.streak }),
          attrs: { inputmode: 'numeric', step: 1, min: 2, max: LIMITS.streak },
        },
        {
          name: 'streak_unit',
          label: t('questsAdmin.streakUnit'),
          type: 'select',
          value: values.streak_unit,
          options: STREAK_UNITS.map((u) => ({ value: u, label: UNIT_LABELS[u]() })),
        },
        { name: 'starts_at', label: t('tasksAdmin.startsAt'), type: 'datetime-local', value: values.starts_at },
        {
          name: 'ends_at',
          label: t('tasksAdmin.endsAt'),
          type: 'datetime-local',
          value: values.ends_at,
          hint: t('questsAdmin.datesHint'),
        },
        ...audienceFields(values, { regions: regionList, levels: levelList }),
        { name: 'active', label: t('tasksAdmin.activeLabel'), type: 'checkbox', value: values.active },
      ],
      submit: quest ? t('common.save') : t('questsAdmin.create'),
      idempotent: !quest,
      validate: (v) => questBody(v, { editing: Boolean(quest) }).errors,
      onSubmit: async (v, { idempotencyKey }) => {
        const { body } = questBody(v, { editing: Boolean(quest) });
        try {
          return quest
            ? await api(`/quests/${quest.id}`, { method: 'PATCH', body })
            : await api('/quests', { method: 'POST', body, idempotencyKey });
        } catch (error) {
          error.errors = questFieldErrors(error.errors);
          throw error;
        }
      },
      onSuccess: (saved) => {
        notify(t(quest ? 'questsAdmin.saved' : 'questsAdmin.created', { title: saved.title }), 'success');
        if (quest) list.update(saved);
        else list.setRows([...list.rows(), saved]);
      },
    });
    f.el.dataset.testid = 'quest-form';

    // A streak has a length and a unit; chains and sets a recurrence.
    const kind = f.input('kind');
    const sync = () => {
      const streak = kind.value === 'streak';
      f.field('recurrence').hidden = streak;
      f.field('streak_length').hidden = !streak;
      f.field('streak_unit').hidden = !streak;
    };
    kind.addEventListener('change', () => {
      f.clearProblem();
      sync();
    });
    sync();
    return f;
  }

  return () => controller.abort();
}
