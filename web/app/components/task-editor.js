// Widgets of the task and quest editors, as `custom` fields of a form: the questions of a
// quiz (options with the right ones ticked) or a survey (options, one or several, or a
// written answer), the ordered tasks of a quest, and the audience fields both editors
// share. Each gives { el, value() } as `form` expects, and the questions editor marks
// the questions and options a server error names.

import { h, replace, uid } from '../dom.js';
import { t } from '../i18n.js';
import { checkGroup } from './form.js';
import { LIMITS, ROLES, roleLabel } from './task-admin.js';

/**
 * A list of questions. `quiz`: each option has a "right" tick (the right ones are
 * `correct`); otherwise a question may allow several options (`multiple`) or, without
 * options, takes a written answer. `questions`: [{ text, options, correct | multiple }].
 * Returns { el, value(), mark(marks) }: `value()` drops empty option rows (the right
 * ticks follow their options); `mark([{ question, part, option }])` highlights.
 */
export function questionsEditor(questions, { quiz = false, label = '' } = {}) {
  let items = (questions ?? []).map((q) => ({
    text: q.text ?? '',
    options: [...(q.options ?? [])].map((text, i) => ({ text, right: (q.correct ?? []).includes(i) })),
    multiple: Boolean(q.multiple),
  }));
  const list = h('ol', { class: 'questions-list' });
  const addQuestion = h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      'data-action': 'add-question',
      onclick: () => {
        sync();
        items.push({
          text: '',
          options: quiz
            ? [
                { text: '', right: false },
                { text: '', right: false },
              ]
            : [],
          multiple: false,
        });
        render();
        list.lastElementChild?.querySelector('input')?.focus();
      },
    },
    t('tasksAdmin.q.add'),
  );
  const el = h(
    'div',
    {
      class: 'questions-editor',
      role: 'group',
      'aria-label': label,
      tabindex: -1,
      'data-questions': quiz ? 'quiz' : 'survey',
    },
    list,
    h('div', { class: 'actions' }, addQuestion),
  );
  // The inputs of what is on screen, read back into `items` before each change.
  let rows = [];

  function sync() {
    items = rows.map((row) => ({
      text: row.text.value,
      options: row.options.map((o) => ({ text: o.text.value, right: Boolean(o.right?.checked) })),
      multiple: Boolean(row.multiple?.checked),
    }));
  }

  function render() {
    rows = [];
    addQuestion.hidden = items.length >= LIMITS.questions;
    replace(
      list,
      items.map((item, qi) => {
        const textId = uid('question');
        const text = h('input', { id: textId, type: 'text', value: item.text, 'data-question': qi });
        const options = item.options.map((option, oi) => {
          const optionText = h('input', {
            type: 'text',
            value: option.text,
            'aria-label': t('tasksAdmin.q.optionN', { n: oi + 1 }),
            'data-option': `${qi}.${oi}`,
          });
          const rightId = uid('right');
          const right = quiz
            ? h('input', { id: rightId, type: 'checkbox', checked: option.right, 'data-right': `${qi}.${oi}` })
            : null;
          return {
            text: optionText,
            right,
            el: h(
              'li',
              { class: 'option-row' },
              quiz
                ? h('span', { class: 'option-right' }, right, h('label', { for: rightId }, t('tasksAdmin.q.right')))
                : null,
              optionText,
              h(
                'button',
                {
                  type: 'button',
                  class: 'icon',
                  'aria-label': t('tasksAdmin.q.removeOption', { n: oi + 1 }),
                  onclick: () => {
                    sync();
                    items[qi].options.splice(oi, 1);
                    render();
                  },
                },
                '\u00d7',
              ),
            ),
          };
        });
        const multipleId = uid('multiple');
        const multiple = quiz
          ? null
          : h('input', {
              id: multipleId,
              type: 'checkbox',
              checked: item.multiple,
              disabled: item.options.length === 0,
            });
        const row = { text, options, multiple };
        rows.push(row);
        return h(
          'li',
          { class: 'question', 'data-question-index': qi },
          h(
            'div',
            { class: 'question-head' },
            h('label', { for: textId }, t('tasksAdmin.q.text', { n: qi + 1 })),
            items.length > 1
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    onclick: () => {
                      sync();
                      items.splice(qi, 1);
                      render();
                    },
                  },
                  t('tasksAdmin.q.remove'),
                )
              : null,
          ),
          text,
          h('div', { class: 'hint' }, quiz ? t('tasksAdmin.q.quizHint') : t('tasksAdmin.q.surveyHint')),
          h(
            'ul',
            { class: 'options-list' },
            options.map((o) => o.el),
          ),
          h(
            'div',
            { class: 'actions' },
            item.options.length < LIMITS.options
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary small',
                    'data-action': 'add-option',
                    onclick: () => {
                      sync();
                      items[qi].options.push({ text: '', right: false });
                      render();
                      list.children[qi]?.querySelector('.option-row:last-child input[type=text]')?.focus();
                    },
                  },
                  t('tasksAdmin.q.addOption'),
                )
              : null,
            multiple
              ? h('span', { class: 'choice' }, multiple, h('label', { for: multipleId }, t('tasksAdmin.q.multiple')))
              : null,
          ),
        );
      }),
    );
  }

  render();
  return {
    el,
    value() {
      sync();
      return items.map((item) => {
        const kept = item.options.filter((o) => o.text.trim() !== '');
        const q = { text: item.text.trim(), options: kept.map((o) => o.text.trim()) };
        if (quiz) q.correct = kept.flatMap((o, i) => (o.right ? [i] : []));
        else q.multiple = item.multiple && kept.length > 0;
        return q;
      });
    },
    /** Marks the inputs the server's errors name (cleared first). */
    mark(marks) {
      for (const input of el.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
      for (const m of marks ?? []) {
        const row = rows[m.question];
        if (!row) continue;
        const target =
          m.option !== null && m.option !== undefined
            ? row.options[m.option]?.text
            : m.part === 'text'
              ? row.text
              : null;
        (target ?? row.text).setAttribute('aria-invalid', 'true');
      }
    },
  };
}

/**
 * The tasks of a quest, in order: a list with up / down / remove, and a choice of the
 * tasks not yet in it. `options`: [{ value: id, label }]; `selected`: ids in order.
 * Returns { el, value() → ids }.
 */
export function taskOrder(options, selected = [], { label = '' } = {}) {
  const labels = new Map(options.map((o) => [Number(o.value), o.label]));
  let ids = selected.map(Number);
  const list = h('ol', { class: 'task-order' });
  const pick = h('select', { 'aria-label': t('questsAdmin.pickTask'), 'data-testid': 'quest-task-pick' });
  const add = h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      'data-action': 'add-task',
      onclick: () => {
        if (!pick.value) return;
        ids.push(Number(pick.value));
        render();
        pick.focus();
      },
    },
    t('questsAdmin.addTask'),
  );
  const el = h(
    'div',
    { class: 'task-order-box', role: 'group', 'aria-label': label, tabindex: -1 },
    list,
    h('div', { class: 'actions' }, pick, add),
  );

  function move(index, by) {
    const to = index + by;
    if (to < 0 || to >= ids.length) return;
    [ids[index], ids[to]] = [ids[to], ids[index]];
    render();
    list.children[to]?.querySelector(by < 0 ? '[data-move=up]' : '[data-move=down]')?.focus();
  }

  function render() {
    replace(
      list,
      ids.length
        ? ids.map((id, i) =>
            h(
              'li',
              { 'data-task-id': id },
              h('span', { class: 'task-order-name' }, labels.get(id) ?? `#${id}`),
              h(
                'span',
                { class: 'row-actions' },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'icon',
                    'data-move': 'up',
                    disabled: i === 0,
                    'aria-label': t('questsAdmin.up'),
                    onclick: () => move(i, -1),
                  },
                  '\u2191',
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'icon',
                    'data-move': 'down',
                    disabled: i === ids.length - 1,
                    'aria-label': t('questsAdmin.down'),
                    onclick: () => move(i, 1),
                  },
                  '\u2193',
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'icon',
                    'aria-label': t('questsAdmin.removeTask', { task: labels.get(id) ?? `#${id}` }),
                    onclick: () => {
                      ids = ids.filter((x) => x !== id);
                      render();
                    },
                  },
                  '\u00d7',
                ),
              ),
            ),
          )
        : h('li', { class: 'muted' }, t('questsAdmin.noTasks')),
    );
    const left = options.filter((o) => !ids.includes(Number(o.value)));
    replace(
      pick,
      left.map((o) => h('option', { value: String(o.value) }, o.label)),
    );
    pick.disabled = add.disabled = left.length === 0 || ids.length >= LIMITS.questTasks;
  }

  render();
  return { el, value: () => [...ids] };
}

/**
 * The audience fields of a form, from what the page could read: regions and levels as
 * ticks, stores as ids, roles as ticks. `values`: the editor's values (`audience.*`).
 */
export function audienceFields(values, { regions = [], levels = [] } = {}) {
  return [
    {
      name: 'audience.regions',
      label: t('tasksAdmin.audienceRegions'),
      type: 'custom',
      control: checkGroup(
        regions.map((r) => ({ value: r.id, label: r.name })),
        values['audience.regions'],
        { label: t('tasksAdmin.audienceRegions') },
      ),
      hint: t('tasksAdmin.audienceHint'),
    },
    {
      name: 'audience.stores',
      label: t('tasksAdmin.audienceStores'),
      value: values['audience.stores'],
      hint: t('tasksAdmin.audienceStoresHint'),
      autocomplete: 'off',
      inputmode: 'numeric',
    },
    {
      name: 'audience.levels',
      label: t('tasksAdmin.audienceLevels'),
      type: 'custom',
      control: checkGroup(levels, values['audience.levels'], { label: t('tasksAdmin.audienceLevels') }),
    },
    {
      name: 'audience.roles',
      label: t('tasksAdmin.audienceRoles'),
      type: 'custom',
      control: checkGroup(
        ROLES.map((role) => ({ value: role, label: roleLabel(role) })),
        values['audience.roles'],
        { label: t('tasksAdmin.audienceRoles') },
      ),
    },
  ];
}
