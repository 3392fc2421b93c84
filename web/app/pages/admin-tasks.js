// Staff: the program's tasks (`listTasks`: the whole program's, or a brand's own),
// filtered by kind and status, each with its points, whether a moderator checks it, its
// schedule and limits in words, its audience and status. With `tasks.edit`: a new task
// and a change of one (`createTask`, `updateTask`) in one editor for all eight kinds,
// each with its own fields (photos and a checklist, a price report's products, a stock
// check's product, a quiz's questions with the right answers, a survey's questions, a
// sales plan's targets, a training's course), the server's field errors under their
// fields; switching a task on and off. Every task's submissions (`listTaskSubmissions`)
// with their status, answers and photos. Program-wide staff also see the trust settings
// (`getTaskSettings`), which `tasks.edit` changes (`updateTaskSettings`).

import { h, replace, append } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can, canAny, isProgramWide, session } from '../session.js';
import { points, count, when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { filterBar } from '../components/filters.js';
import { form, namedOptions } from '../components/form.js';
import { formDialog, actionButton, statusBadge } from '../components/actions.js';
import { openDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { photoGallery } from '../components/photos.js';
import { questionsEditor, audienceFields } from '../components/task-editor.js';
import {
  KINDS,
  MODERATION,
  RECURRENCES,
  LIMITS,
  kindLabel,
  recurrenceLabel,
  specField,
  taskBody,
  taskValues,
  taskFieldErrors,
  questionMarks,
  describeSchedule,
  describeLimits,
  describeAudience,
  describeSpec,
  answerLines,
  checkTrustForm,
  trustValues,
  describeTrust,
} from '../components/task-admin.js';

const SUBMISSION_STATUSES = ['pending', 'approved', 'rejected', 'rework', 'resubmitted', 'failed'];

/** The brand a brand's own staff work for (their tasks are that brand's). */
function ownBrand() {
  const me = session.me();
  return me?.brand_id ?? me?.roles?.find((r) => r.scope?.kind === 'brand')?.scope.id ?? null;
}

function activeBadge(active) {
  return h(
    'span',
    { class: `badge status-${active ? 'active' : 'disconnected'}`, 'data-status': active ? 'active' : 'inactive' },
    active ? t('tasksAdmin.active') : t('tasksAdmin.inactive'),
  );
}

/** The moderation hint of a kind: always, never, or the author's choice. */
function moderationHint(kind) {
  const mode = MODERATION[kind]?.mode;
  return mode === 'required'
    ? t('tasksAdmin.moderationAlways')
    : mode === 'never'
      ? t('tasksAdmin.moderationNever')
      : t('tasksAdmin.moderationChoice');
}

export function mount(root) {
  const editor = can('tasks.edit');
  const wide = isProgramWide();
  const names = { regions: new Map(), levels: new Map() };
  const brands = new Map();
  let regionList = [];
  let levelList = [];
  let brandList = [];
  let productList = [];
  let stopped = false;

  const list = table({
    empty: t('tasksAdmin.none'),
    columns: [
      {
        label: t('tasksAdmin.titleLabel'),
        render: (r) => [
          h('strong', { 'data-task-title': r.title }, r.title),
          h('div', { class: 'muted small' }, describeSpec(r.spec)),
          r.brand_id
            ? h(
                'div',
                { class: 'muted small' },
                t('tasksAdmin.brandOf', { brand: brands.get(r.brand_id) ?? `#${r.brand_id}` }),
              )
            : null,
        ],
      },
      {
        label: t('tasksAdmin.kind'),
        render: (r) => h('span', { class: 'badge', 'data-kind': r.kind }, kindLabel(r.kind)),
      },
      {
        label: t('tasksAdmin.points'),
        numeric: true,
        render: (r) => h('span', { 'data-testid': 'task-points' }, points(r.points)),
      },
      {
        label: t('tasksAdmin.moderation'),
        render: (r) => (r.requires_moderation ? t('tasksAdmin.moderated') : t('tasksAdmin.automatic')),
      },
      {
        label: t('tasksAdmin.schedule'),
        render: (r) => [describeSchedule(r), h('div', { class: 'muted small' }, describeLimits(r))],
      },
      { label: t('tasksAdmin.audience'), wide: true, render: (r) => describeAudience(r.audience, names) },
      { label: t('tasksAdmin.status'), render: (r) => activeBadge(r.active) },
      {
        label: t('common.actions'),
        render: (r) =>
          h(
            'div',
            { class: 'row-actions' },
            editor ? actionButton(t('tasksAdmin.edit'), async () => edit(r), { testid: 'edit-task' }) : null,
            actionButton(t('tasksAdmin.submissions'), async () => submissions(r), { testid: 'submissions' }),
            editor
              ? actionButton(
                  r.active ? t('tasksAdmin.deactivate') : t('tasksAdmin.activate'),
                  async () => {
                    const saved = await api(`/tasks/${r.id}`, { method: 'PATCH', body: { active: !r.active } });
                    list.update(saved);
                    notify(
                      t(saved.active ? 'tasksAdmin.activated' : 'tasksAdmin.deactivated', { title: saved.title }),
                      'success',
                    );
                  },
                  { testid: r.active ? 'deactivate' : 'activate' },
                )
              : null,
          ),
      },
    ],
  });

  const filters = filterBar({
    controls: [
      {
        name: 'kind',
        label: t('tasksAdmin.kind'),
        type: 'select',
        options: [{ value: '', label: t('common.all') }, ...KINDS.map((k) => ({ value: k, label: kindLabel(k) }))],
      },
      {
        name: 'active',
        label: t('tasksAdmin.status'),
        type: 'select',
        options: [
          { value: '', label: t('common.all') },
          { value: 'true', label: t('tasksAdmin.active') },
          { value: 'false', label: t('tasksAdmin.inactive') },
        ],
      },
    ],
    onChange: () => paged.reload(),
  });

  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/tasks', { signal, query: { ...filters.values(), cursor, limit: 100 } }),
  });

  const trustSection = wide ? trustCard() : null;

  // `append` skips what this person does not get (null).
  append(root, [
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, t('tasksAdmin.title')),
      editor
        ? h(
            'button',
            { type: 'button', 'data-action': 'create-task', onclick: () => edit(null) },
            t('tasksAdmin.create'),
          )
        : null,
    ),
    h('p', { class: 'muted' }, t('tasksAdmin.intro')),
    editor ? null : h('p', { class: 'notice' }, t('tasksAdmin.readOnly')),
    filters.el,
    h('section', { class: 'card', 'data-testid': 'tasks' }, paged.el),
    trustSection,
  ]);

  // Names for the audience and choices for the editor (what the caller may not read is left out).
  const optional = (section, path, query) =>
    canAny(`${section}.view`, `${section}.edit`) ? api(path, { query }).catch(() => null) : Promise.resolve(null);
  Promise.all([
    optional('regions', '/regions'),
    api('/program').catch(() => null),
    optional('brands', '/brands'),
    editor ? optional('products', '/products', { limit: 200 }) : Promise.resolve(null),
  ]).then(([r, program, b, products]) => {
    if (stopped) return;
    regionList = r ?? [];
    levelList = (program?.levels ?? []).map((level, index) => ({ value: index, label: level.name }));
    brandList = b ?? [];
    productList = products?.items ?? [];
    regionList.forEach((x) => names.regions.set(x.id, x.name));
    levelList.forEach((x) => names.levels.set(x.value, x.label));
    brandList.forEach((x) => brands.set(x.id, x.name));
    list.setRows(list.rows());
  });

  /** The brand choices of the editor: a program-wide editor picks any, a brand its own. */
  function brandOptions(current) {
    if (!wide) {
      const own = current ?? ownBrand();
      return own
        ? [{ value: own, label: brands.get(Number(own)) ?? `#${own}` }]
        : [{ value: '', label: t('tasksAdmin.noBrand') }];
    }
    const known =
      current && !brands.has(Number(current)) ? [...brandList, { id: current, name: `#${current}` }] : brandList;
    return namedOptions(known, { none: t('tasksAdmin.noBrand') });
  }

  /** The create (task = null) or edit dialog, one editor for every kind. */
  function edit(task) {
    const values = taskValues(task, { brandId: wide ? null : ownBrand() });
    const questionEditors = {
      quiz: questionsEditor(values[specField('quiz', 'questions')], { quiz: true, label: t('tasksAdmin.questions') }),
      survey: questionsEditor(values[specField('survey', 'questions')], {
        quiz: false,
        label: t('tasksAdmin.questions'),
      }),
    };
    const whole = (min, max) => ({ inputmode: 'numeric', step: 1, min, max });
    const spec = (kind, field) => ({
      ...field,
      name: specField(kind, field.name),
      value: values[specField(kind, field.name)],
    });
    const productOptions = [
      { value: '', label: t('tasksAdmin.anyProduct') },
      ...productList.map((p) => ({ value: p.id, label: `${p.sku} · ${p.name}` })),
    ];
    const storedProduct = values[specField('stock_check', 'product_id')];
    if (storedProduct && !productList.some((p) => String(p.id) === storedProduct))
      productOptions.push({ value: storedProduct, label: `#${storedProduct}` });

    const specFields = [
      ...['shelf_photo', 'self_audit'].flatMap((kind) => [
        spec(kind, {
          name: 'min_photos',
          label: t('tasksAdmin.minPhotos'),
          type: 'number',
          hint: t('tasksAdmin.minPhotosHint', { max: LIMITS.photos }),
          attrs: whole(1, LIMITS.photos),
        }),
        spec(kind, {
          name: 'checklist',
          label: kind === 'self_audit' ? t('tasksAdmin.checklistRequired') : t('tasksAdmin.checklist'),
          type: 'textarea',
          rows: 4,
          hint: t('tasksAdmin.linesHint', { max: LIMITS.items }),
        }),
      ]),
      spec('price_report', {
        name: 'products',
        label: t('tasksAdmin.priceProducts'),
        type: 'textarea',
        rows: 4,
        hint: t('tasksAdmin.linesHint', { max: LIMITS.items }),
      }),
      spec('stock_check', {
        name: 'product',
        label: t('tasksAdmin.stockProduct'),
        hint: t('tasksAdmin.stockProductHint'),
      }),
      spec('stock_check', {
        name: 'product_id',
        label: t('tasksAdmin.stockProductId'),
        type: 'select',
        options: productOptions,
        hint: t('tasksAdmin.stockProductIdHint'),
      }),
      spec('quiz', {
        name: 'questions',
        label: t('tasksAdmin.questions'),
        type: 'custom',
        control: questionEditors.quiz,
      }),
      spec('quiz', {
        name: 'pass_mark',
        label: t('tasksAdmin.passMark'),
        type: 'number',
        hint: t('tasksAdmin.passMarkHint'),
        attrs: whole(1, LIMITS.questions),
      }),
      spec('survey', {
        name: 'questions',
        label: t('tasksAdmin.questions'),
        type: 'custom',
        control: questionEditors.survey,
      }),
      spec('sales_plan', {
        name: 'target_quantity',
        label: t('tasksAdmin.targetQuantity'),
        type: 'number',
        hint: t('tasksAdmin.targetHint'),
        attrs: { inputmode: 'numeric', step: 1, min: 1 },
      }),
      spec('sales_plan', {
        name: 'target_amount',
        label: t('tasksAdmin.targetAmount'),
        inputmode: 'decimal',
        autocomplete: 'off',
      }),
      spec('training', { name: 'course', label: t('tasksAdmin.course') }),
      spec('training', {
        name: 'url',
        label: t('tasksAdmin.courseUrl'),
        inputmode: 'url',
        autocomplete: 'off',
        placeholder: 'https://',
      }),
    ];

    const f = formDialog(task ? t('tasksAdmin.editTitle', { title: task.title }) : t('tasksAdmin.create'), {
      className: 'form-wide form-task',
      fields: [
        {
          name: 'kind',
          label: t('tasksAdmin.kind'),
          type: 'select',
          required: true,
          value: values.kind,
          options: KINDS.map((k) => ({ value: k, label: kindLabel(k) })),
          hint: task ? t('tasksAdmin.kindChangeHint') : null,
        },
        { name: 'title', label: t('tasksAdmin.titleLabel'), required: true, value: values.title },
        {
          name: 'description',
          label: t('tasksAdmin.description'),
          type: 'textarea',
          rows: 2,
          value: values.description,
        },
        {
          name: 'points',
          label: t('tasksAdmin.points'),
          type: 'amount',
          required: true,
          value: values.points,
          hint: t('tasksAdmin.pointsHint'),
        },
        {
          name: 'requires_moderation',
          label: t('tasksAdmin.requiresModeration'),
          type: 'checkbox',
          value: values.requires_moderation,
          hint: moderationHint(values.kind),
        },
        ...specFields,
        {
          name: 'recurrence',
          label: t('tasksAdmin.recurrence'),
          type: 'select',
          value: values.recurrence,
          options: RECURRENCES.map((r) => ({ value: r, label: recurrenceLabel(r) })),
          hint: t('tasksAdmin.recurrenceHint'),
        },
        { name: 'starts_at', label: t('tasksAdmin.startsAt'), type: 'datetime-local', value: values.starts_at },
        {
          name: 'ends_at',
          label: t('tasksAdmin.endsAt'),
          type: 'datetime-local',
          value: values.ends_at,
          hint: t('tasksAdmin.datesHint'),
        },
        {
          name: 'max_completions',
          label: t('tasksAdmin.maxCompletions'),
          type: 'number',
          value: values.max_completions,
          hint: t('tasksAdmin.maxCompletionsHint', { max: LIMITS.perPeriod }),
          attrs: whole(1, LIMITS.perPeriod),
        },
        {
          name: 'max_attempts',
          label: t('tasksAdmin.maxAttempts'),
          type: 'number',
          value: values.max_attempts,
          hint: t('tasksAdmin.maxAttemptsHint', { max: LIMITS.perPeriod }),
          attrs: whole(1, LIMITS.perPeriod),
        },
        ...audienceFields(values, { regions: regionList, levels: levelList }),
        {
          name: 'brand_id',
          label: t('tasksAdmin.brand'),
          type: 'select',
          value: values.brand_id,
          options: brandOptions(values.brand_id || null),
        },
        { name: 'active', label: t('tasksAdmin.activeLabel'), type: 'checkbox', value: values.active },
      ],
      submit: task ? t('common.save') : t('tasksAdmin.create'),
      idempotent: !task,
      validate: (v) => {
        Object.values(questionEditors).forEach((q) => q.mark([]));
        return taskBody(v).errors;
      },
      onSubmit: async (v, { idempotencyKey }) => {
        Object.values(questionEditors).forEach((q) => q.mark([]));
        const { body } = taskBody(v);
        try {
          return task
            ? await api(`/tasks/${task.id}`, { method: 'PATCH', body })
            : await api('/tasks', { method: 'POST', body, idempotencyKey });
        } catch (error) {
          questionEditors[v.kind]?.mark(questionMarks(error.errors));
          error.errors = taskFieldErrors(error.errors, v.kind);
          throw error;
        }
      },
      onSuccess: (saved) => {
        notify(t(task ? 'tasksAdmin.saved' : 'tasksAdmin.created', { title: saved.title }), 'success');
        if (task) list.update(saved);
        else paged.reload();
      },
    });
    f.el.dataset.testid = 'task-form';

    // The chosen kind's fields only; moderation as the kind allows.
    const kind = f.input('kind');
    const moderation = f.input('requires_moderation');
    const moderationHintEl = f.field('requires_moderation').querySelector('.hint');
    const specNames = specFields.map((s) => s.name);
    const sync = (changed) => {
      for (const name of specNames) f.field(name).hidden = !name.startsWith(`spec.${kind.value}.`);
      const rule = MODERATION[kind.value];
      if (changed) moderation.checked = rule?.default ?? false;
      if (rule?.mode === 'required') moderation.checked = true;
      if (rule?.mode === 'never') moderation.checked = false;
      moderation.disabled = rule?.mode !== 'optional';
      if (moderationHintEl) moderationHintEl.textContent = moderationHint(kind.value);
    };
    kind.addEventListener('change', () => {
      f.clearProblem();
      sync(true);
    });
    sync(false);
    return f;
  }

  /** A task's submissions in a dialog: a status filter, pages, answers and photos. */
  function submissions(task) {
    const galleries = [];
    let close = null;
    const rows = table({
      empty: t('tasksAdmin.sub.none'),
      columns: [
        { label: '#', numeric: true, render: (s) => h('span', { 'data-submission': s.id }, String(s.id)) },
        { label: t('tasksAdmin.sub.when'), render: (s) => when(s.created_at) },
        { label: t('tasksAdmin.sub.participant'), render: (s) => personLink(s.participant_id, () => close?.()) },
        {
          label: t('tasksAdmin.sub.status'),
          render: (s) => [
            statusBadge(s.status),
            s.auto_approved ? h('div', { class: 'muted small' }, t('tasksAdmin.sub.auto')) : null,
          ],
        },
        {
          label: t('tasksAdmin.sub.attempt'),
          wide: true,
          render: (s) => t('tasksAdmin.sub.attemptOf', { n: count(s.attempt), period: s.period_key }),
        },
        {
          label: t('tasksAdmin.sub.answers'),
          render: (s) => {
            const answerList = answerLines(s.answers, task.spec);
            return answerList.length
              ? h(
                  'ul',
                  { class: 'answer-lines' },
                  answerList.map((line) => h('li', null, line)),
                )
              : t('common.none');
          },
        },
        {
          label: t('tasksAdmin.sub.points'),
          numeric: true,
          render: (s) => (s.credited ? points(s.credited) : points(s.points)),
        },
        {
          label: t('tasksAdmin.sub.photos'),
          render: (s) =>
            s.photos?.length
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary small',
                    'data-action': 'photos',
                    onclick: () => {
                      const gallery = photoGallery(s.photos);
                      galleries.push(gallery);
                      openDialog({
                        title: t('tasksAdmin.sub.photosOf', { id: s.id }),
                        content: gallery.el,
                        onClose: () => gallery.dispose(),
                      });
                    },
                  },
                  t('tasksAdmin.sub.photosN', { n: count(s.photos.length) }),
                )
              : t('common.none'),
        },
        {
          label: t('tasksAdmin.sub.decision'),
          wide: true,
          render: (s) =>
            [s.decision_reason, s.decision_comment].filter(Boolean).join(': ') ||
            (s.decided_at ? when(s.decided_at) : t('common.none')),
        },
      ],
    });
    const statusFilter = filterBar({
      controls: [
        {
          name: 'status',
          label: t('tasksAdmin.sub.status'),
          type: 'select',
          options: [
            { value: '', label: t('common.all') },
            ...SUBMISSION_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
          ],
        },
      ],
      onChange: () => pagedSubs.reload(),
    });
    const pagedSubs = pagedList({
      list: rows,
      fetchPage: (cursor, signal) =>
        api(`/tasks/${task.id}/submissions`, { signal, query: { ...statusFilter.values(), cursor, limit: 50 } }),
    });
    close = openDialog({
      title: t('tasksAdmin.sub.title', { title: task.title }),
      content: h('div', { class: 'submissions', 'data-testid': 'submissions' }, statusFilter.el, pagedSubs.el),
      onClose: () => {
        pagedSubs.abort();
        galleries.forEach((g) => g.dispose());
      },
    });
  }

  /** The trust settings: in words, and with `tasks.edit` their form. */
  function trustCard() {
    const current = h('div', { 'data-testid': 'trust-current', 'aria-live': 'polite' });
    const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
    const section = h(
      'section',
      { class: 'card', 'data-testid': 'trust' },
      h('h2', null, t('trust.title')),
      h('p', { class: 'muted' }, t('trust.intro')),
      body,
    );

    function show(policy) {
      replace(current, h('p', { 'data-testid': 'trust-text' }, describeTrust(policy)));
    }

    function trustForm(policy) {
      const values = trustValues(policy);
      const whole = (min, max) => ({ inputmode: 'numeric', step: 1, min, max });
      const f = form({
        className: 'trust-form',
        fields: [
          { name: 'enabled', label: t('trust.enabled'), type: 'checkbox', value: values.enabled },
          {
            name: 'threshold',
            label: t('trust.threshold'),
            type: 'number',
            value: values.threshold,
            hint: t('trust.thresholdHint'),
            attrs: whole(0, 100),
          },
          {
            name: 'min_decisions',
            label: t('trust.minDecisions'),
            type: 'number',
            value: values.min_decisions,
            hint: t('trust.minDecisionsHint'),
            attrs: whole(0, 1_000_000),
          },
          {
            name: 'max_points',
            label: t('trust.maxPoints'),
            value: values.max_points,
            inputmode: 'decimal',
            autocomplete: 'off',
            hint: t('trust.maxPointsHint'),
          },
          {
            name: 'spot_check_percent',
            label: t('trust.spotCheck'),
            type: 'number',
            value: values.spot_check_percent,
            hint: t('trust.spotCheckHint'),
            attrs: whole(0, 100),
          },
        ],
        submit: t('common.save'),
        validate: (v) => checkTrustForm(v).errors,
        onSubmit: (v) => api('/task-settings', { method: 'PUT', body: checkTrustForm(v).policy }),
        onSuccess: (saved) => {
          show(saved);
          notify(t('trust.saved'), 'success');
        },
      });
      f.el.dataset.testid = 'trust-form';
      return f.el;
    }

    async function load() {
      replace(body, h('p', { class: 'muted' }, t('common.loading')));
      try {
        const policy = await api('/task-settings');
        if (stopped) return;
        show(policy);
        replace(body, current, editor ? trustForm(policy) : null);
      } catch (error) {
        if (stopped) return;
        replace(
          body,
          problemBox(error),
          h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
        );
      }
    }
    load();
    return section;
  }

  return () => {
    stopped = true;
    paged.abort();
  };
}

const people = new Map(); // id → Promise<name | null>

/** A participant as a link to their page, named when their name arrives. */
function personLink(id, onFollow) {
  if (!canAny('participants.view', 'participants.edit')) return `#${id}`;
  const link = h('a', { href: `/people/${id}`, onclick: () => onFollow?.() }, `#${id}`);
  if (!people.has(id))
    people.set(
      id,
      api(`/participants/${id}`).then(
        (p) => p.name,
        () => null,
      ),
    );
  people.get(id).then((name) => {
    if (name) link.textContent = name;
  });
  return link;
}
