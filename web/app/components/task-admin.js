// The staff side of tasks and quests, without the DOM (so the unit tests can run it):
// the eight task kinds and whether they go through a moderator, a task's body built
// from the editor's values per kind (and the values for a stored task), the server's
// field errors put under the editor's own fields, a schedule, limits, an audience and
// a quest in words, a quest's body, the trust settings' checks and their words, and a
// submission's answers as lines. The server checks everything again; these checks only
// catch a typo before it is sent.

import { t, tn } from '../i18n.js';
import { points, count, parseAmount, when } from '../format.js';

/** The kinds, in the order the editor offers them (`TaskSpec`'s tags). */
export const KINDS = [
  'shelf_photo',
  'self_audit',
  'price_report',
  'stock_check',
  'quiz',
  'survey',
  'sales_plan',
  'training',
];

// Literal keys, so the dictionary test sees each of them.
const KIND_LABELS = {
  shelf_photo: () => t('task.kind.shelf_photo'),
  self_audit: () => t('task.kind.self_audit'),
  price_report: () => t('task.kind.price_report'),
  stock_check: () => t('task.kind.stock_check'),
  quiz: () => t('task.kind.quiz'),
  survey: () => t('task.kind.survey'),
  sales_plan: () => t('task.kind.sales_plan'),
  training: () => t('task.kind.training'),
};

/** A kind's name in the page's language; an unknown kind as the server names it. */
export function kindLabel(kind) {
  return KIND_LABELS[kind]?.() ?? String(kind ?? '');
}

/**
 * Whether a kind goes through a moderator (`TaskSpec::moderation`): photos always, a
 * quiz and a sales plan never (they score themselves), the rest as the author says,
 * with a default (a price report yes, the others no).
 */
export const MODERATION = {
  shelf_photo: { mode: 'required', default: true },
  self_audit: { mode: 'required', default: true },
  price_report: { mode: 'optional', default: true },
  stock_check: { mode: 'optional', default: false },
  survey: { mode: 'optional', default: false },
  training: { mode: 'optional', default: false },
  quiz: { mode: 'never', default: false },
  sales_plan: { mode: 'never', default: false },
};

export const RECURRENCES = ['none', 'daily', 'weekly'];
export const QUEST_KINDS = ['chain', 'set', 'streak'];
export const STREAK_UNITS = ['day', 'week'];
/** Participant roles an audience may name. */
export const ROLES = ['seller', 'owner'];

/** The server's limits (`spec.rs`, `tasks/mod.rs`, `quests.rs`). */
export const LIMITS = {
  questions: 50,
  options: 10,
  items: 50,
  text: 500,
  photos: 10,
  perPeriod: 100,
  questTasks: 20,
  streak: 366,
  audience: 1000,
};

/** The editor's field for a kind's spec field: `spec.quiz.questions`. */
export function specField(kind, name) {
  return `spec.${kind}.${name}`;
}

/** A whole number from `min` to `max` as typed, or null. */
export function whole(text, min, max) {
  const value = String(text ?? '').trim();
  if (!/^\d{1,9}$/.test(value)) return null;
  const n = Number(value);
  return n >= min && n <= max ? n : null;
}

/** The non-blank lines of a textarea, trimmed (a checklist, a price report's products). */
export function lines(text) {
  return String(text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Ids typed as "3, 5 12" → [3, 5, 12]; null when something is not an id. */
export function idList(text) {
  const parts = String(text ?? '')
    .split(/[\s,;]+/)
    .filter(Boolean);
  if (!parts.every((p) => /^\d{1,15}$/.test(p) && Number(p) > 0)) return null;
  return [...new Set(parts.map(Number))];
}

/** Epoch ms → the value of an <input type=datetime-local> (the browser's local time). */
export function toLocalInput(ms) {
  if (ms === null || ms === undefined || ms === '') return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of an <input type=datetime-local> → epoch ms, or null when empty or unreadable. */
export function fromLocalInput(value) {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** An amount typed as "25", "25,5" or "1 250.50" → "1250.50"; `zero`: 0 is allowed. */
function amount(text, { zero = false } = {}) {
  const value = String(text ?? '').trim();
  if (zero && /^0+([.,]0{0,2})?$/.test(value)) return '0.00';
  return parseAmount(value);
}

// --- tasks ------------------------------------------------------------------------

/** A quiz or survey question as the editor keeps it. */
function cleanQuestions(questions, { quiz }) {
  return (questions ?? []).map((q) => {
    const options = (q.options ?? []).map((o) => String(o ?? '').trim());
    const question = { text: String(q.text ?? '').trim(), options };
    if (quiz) question.correct = [...new Set(q.correct ?? [])].sort((a, b) => a - b);
    else question.multiple = Boolean(q.multiple) && options.length > 0;
    return question;
  });
}

/** The checks of a quiz's or survey's questions (the server's, in the editor's words). */
function checkQuestions(field, questions, { quiz }, errors) {
  if (questions.length < 1 || questions.length > LIMITS.questions) {
    errors.push({ field, message: t('tasksAdmin.check.questions', { max: LIMITS.questions }) });
    return;
  }
  questions.forEach((q, i) => {
    const n = i + 1;
    if (!q.text) errors.push({ field, message: t('tasksAdmin.check.questionText', { n }) });
    const withOptions = quiz || q.options.length > 0;
    if (withOptions && (q.options.length < 2 || q.options.length > LIMITS.options))
      errors.push({ field, message: t('tasksAdmin.check.options', { n, max: LIMITS.options }) });
    if (q.options.some((o) => !o)) errors.push({ field, message: t('tasksAdmin.check.optionText', { n }) });
    if (quiz && q.correct.length === 0) errors.push({ field, message: t('tasksAdmin.check.correct', { n }) });
  });
}

/**
 * The spec of `kind` from the editor's values (`spec.{kind}.{name}`), with the field
 * errors of what is missing or out of range. Returns { spec, errors }.
 */
export function specBody(kind, values) {
  const v = (name) => values[specField(kind, name)];
  const errors = [];
  const err = (name, message) => errors.push({ field: specField(kind, name), message });
  const photos = () => {
    const n = whole(v('min_photos'), 1, LIMITS.photos);
    if (n === null) err('min_photos', t('tasksAdmin.check.photos', { max: LIMITS.photos }));
    return n;
  };
  const items = (name, min) => {
    const list = lines(v(name));
    if (list.length < min || list.length > LIMITS.items)
      err(
        name,
        min
          ? t('tasksAdmin.check.itemsMin', { max: LIMITS.items })
          : t('tasksAdmin.check.items', { max: LIMITS.items }),
      );
    return list;
  };
  let spec;
  switch (kind) {
    case 'shelf_photo':
    case 'self_audit':
      spec = { kind, min_photos: photos(), checklist: items('checklist', kind === 'self_audit' ? 1 : 0) };
      break;
    case 'price_report':
      spec = { kind, products: items('products', 1) };
      break;
    case 'stock_check': {
      const product = String(v('product') ?? '').trim();
      const productId = String(v('product_id') ?? '').trim();
      spec = { kind, product: product || null, product_id: productId ? Number(productId) : null };
      break;
    }
    case 'quiz': {
      const questions = cleanQuestions(v('questions'), { quiz: true });
      checkQuestions(specField(kind, 'questions'), questions, { quiz: true }, errors);
      const passMark = whole(v('pass_mark'), 1, Math.max(1, questions.length));
      if (passMark === null) err('pass_mark', t('tasksAdmin.check.passMark', { max: Math.max(1, questions.length) }));
      spec = { kind, questions, pass_mark: passMark };
      break;
    }
    case 'survey': {
      const questions = cleanQuestions(v('questions'), { quiz: false });
      checkQuestions(specField(kind, 'questions'), questions, { quiz: false }, errors);
      spec = { kind, questions };
      break;
    }
    case 'sales_plan': {
      const quantityText = String(v('target_quantity') ?? '').trim();
      const amountText = String(v('target_amount') ?? '').trim();
      const quantity = quantityText ? whole(quantityText, 1, Number.MAX_SAFE_INTEGER) : null;
      const target = amountText ? amount(amountText) : null;
      if (quantityText && quantity === null) err('target_quantity', t('tasksAdmin.check.quantity'));
      if (amountText && target === null) err('target_amount', t('form.amount'));
      if (!quantityText && !amountText) err('target_quantity', t('tasksAdmin.check.target'));
      spec = { kind, target_quantity: quantity, target_amount: target };
      break;
    }
    case 'training': {
      const course = String(v('course') ?? '').trim();
      const url = String(v('url') ?? '').trim();
      if (!course) err('course', t('form.required'));
      if (url && !/^https?:\/\/\S+$/i.test(url)) err('url', t('tasksAdmin.check.url'));
      spec = { kind, course, url: url || null };
      break;
    }
    default:
      errors.push({ field: 'kind', message: t('tasksAdmin.check.kind') });
      spec = null;
  }
  return { spec, errors };
}

/** The audience from the editor's values (`audience.regions` …), with its errors. */
export function audienceBody(values, errors) {
  const stores = idList(values['audience.stores']);
  if (stores === null) errors.push({ field: 'audience.stores', message: t('tasksAdmin.check.ids') });
  return {
    regions: (values['audience.regions'] ?? []).map(Number),
    stores: stores ?? [],
    levels: (values['audience.levels'] ?? []).map(Number),
    roles: [...(values['audience.roles'] ?? [])],
  };
}

/** The dates of a schedule from the editor's values, with their errors. */
function datesBody(values, errors) {
  const startsAt = fromLocalInput(values.starts_at);
  const endsAt = fromLocalInput(values.ends_at);
  if (values.starts_at && startsAt === null) errors.push({ field: 'starts_at', message: t('tasksAdmin.check.date') });
  if (values.ends_at && endsAt === null) errors.push({ field: 'ends_at', message: t('tasksAdmin.check.date') });
  if (startsAt !== null && endsAt !== null && endsAt <= startsAt)
    errors.push({ field: 'ends_at', message: t('tasksAdmin.check.endsAfter') });
  return { starts_at: startsAt, ends_at: endsAt };
}

/**
 * The body of `createTask` (and of `updateTask`, which takes the same fields) from the
 * editor's values as the form reads them: strings, ticks, and lists for the custom
 * fields. Only the chosen kind's spec fields are read. Returns { body, errors }, the
 * errors in the editor's field names; `body` is null when there are errors.
 */
export function taskBody(values) {
  const kind = values.kind;
  const { spec, errors } = specBody(kind, values);
  const price = amount(values.points);
  if (price === null) errors.push({ field: 'points', message: t('tasksAdmin.check.points') });
  if (!String(values.title ?? '').trim()) errors.push({ field: 'title', message: t('form.required') });
  const recurrence = RECURRENCES.includes(values.recurrence) ? values.recurrence : 'none';
  const dates = datesBody(values, errors);
  if (kind === 'sales_plan' && recurrence === 'none' && dates.starts_at === null)
    errors.push({ field: 'starts_at', message: t('tasksAdmin.check.planStart') });
  const completions = whole(values.max_completions, 1, LIMITS.perPeriod);
  if (completions === null)
    errors.push({ field: 'max_completions', message: t('tasksAdmin.check.perPeriod', { max: LIMITS.perPeriod }) });
  const attemptsText = String(values.max_attempts ?? '').trim();
  const attempts = attemptsText ? whole(attemptsText, 1, LIMITS.perPeriod) : null;
  if (attemptsText && attempts === null)
    errors.push({ field: 'max_attempts', message: t('tasksAdmin.check.perPeriod', { max: LIMITS.perPeriod }) });
  const audience = audienceBody(values, errors);
  const moderation = MODERATION[kind];
  const brand = String(values.brand_id ?? '').trim();
  const body = {
    title: String(values.title ?? '').trim(),
    description: String(values.description ?? '').trim(),
    spec,
    audience,
    ...dates,
    recurrence,
    points: price,
    max_completions: completions,
    max_attempts: attempts,
    // Only a kind that lets the author choose sends a choice; the others follow the kind.
    requires_moderation: moderation?.mode === 'optional' ? Boolean(values.requires_moderation) : null,
    active: values.active !== false,
    brand_id: brand ? Number(brand) : null,
  };
  return { body: errors.length ? null : body, errors };
}

/** The editor's values for a kind's spec (a stored one, or the kind's defaults). */
function specValues(kind, spec) {
  const s = spec?.kind === kind ? spec : {};
  const f = (name) => specField(kind, name);
  switch (kind) {
    case 'shelf_photo':
    case 'self_audit':
      return { [f('min_photos')]: String(s.min_photos ?? 1), [f('checklist')]: (s.checklist ?? []).join('\n') };
    case 'price_report':
      return { [f('products')]: (s.products ?? []).join('\n') };
    case 'stock_check':
      return { [f('product')]: s.product ?? '', [f('product_id')]: s.product_id ? String(s.product_id) : '' };
    case 'quiz':
      return {
        [f('questions')]: (s.questions ?? [{ text: '', options: ['', ''], correct: [] }]).map((q) => ({
          text: q.text,
          options: [...q.options],
          correct: [...(q.correct ?? [])],
        })),
        [f('pass_mark')]: String(s.pass_mark ?? 1),
      };
    case 'survey':
      return {
        [f('questions')]: (s.questions ?? [{ text: '', options: [], multiple: false }]).map((q) => ({
          text: q.text,
          options: [...(q.options ?? [])],
          multiple: Boolean(q.multiple),
        })),
      };
    case 'sales_plan':
      return {
        [f('target_quantity')]: s.target_quantity ? String(s.target_quantity) : '',
        [f('target_amount')]: s.target_amount ?? '',
      };
    case 'training':
      return { [f('course')]: s.course ?? '', [f('url')]: s.url ?? '' };
    default:
      return {};
  }
}

/**
 * The editor's values for a stored task (null: a new one). Every kind's spec fields
 * get a value, so switching the kind in the editor starts from that kind's defaults.
 * `brandId`: the brand a new task belongs to (a brand's own staff).
 */
export function taskValues(task, { brandId = null } = {}) {
  const kind = task?.spec?.kind ?? task?.kind ?? 'shelf_photo';
  const audience = task?.audience ?? {};
  const values = {
    kind,
    title: task?.title ?? '',
    description: task?.description ?? '',
    points: task?.points ?? '',
    requires_moderation: task ? Boolean(task.requires_moderation) : (MODERATION[kind]?.default ?? false),
    recurrence: task?.recurrence ?? 'none',
    starts_at: toLocalInput(task?.starts_at),
    ends_at: toLocalInput(task?.ends_at),
    max_completions: String(task?.max_completions ?? 1),
    max_attempts: task?.max_attempts ? String(task.max_attempts) : '',
    'audience.regions': [...(audience.regions ?? [])],
    'audience.stores': (audience.stores ?? []).join(', '),
    'audience.levels': [...(audience.levels ?? [])],
    'audience.roles': [...(audience.roles ?? [])],
    brand_id: task ? (task.brand_id ? String(task.brand_id) : '') : brandId ? String(brandId) : '',
    active: task ? Boolean(task.active) : true,
  };
  for (const k of KINDS) Object.assign(values, specValues(k, k === kind ? task?.spec : null));
  return values;
}

/** Spec fields whose value is a list of lines, and those holding questions. */
const LINE_FIELDS = new Set(['checklist', 'products']);
const QUESTION_FIELDS = new Set(['questions']);

/** One server message about a question, in words that say which question and option. */
function questionMessage(rest, message) {
  const m = /^\[(\d+)\](?:\.(\w+)(?:\[(\d+)\])?)?$/.exec(rest);
  if (!m) return message;
  const n = Number(m[1]) + 1;
  if (m[2] === 'options' && m[3] !== undefined)
    return t('tasksAdmin.error.option', { n, m: Number(m[3]) + 1, message });
  return t('tasksAdmin.error.question', { n, message });
}

/**
 * The server's field errors (`spec.questions[0].options[1]`, `audience.roles[2]`, `spec`)
 * as the task editor's fields: a spec field under the chosen kind's field, a line of a
 * list or a question named in the message, several messages of one field joined. Fields
 * the editor does not have are kept as they are (the form lists them above its buttons).
 */
export function taskFieldErrors(errors, kind) {
  const merged = new Map();
  const add = (field, message) => merged.set(field, merged.has(field) ? `${merged.get(field)}; ${message}` : message);
  for (const e of errors ?? []) {
    const field = String(e.field ?? '');
    const spec = /^spec\.(\w+)(.*)$/.exec(field);
    if (spec) {
      const [, name, rest] = spec;
      let message = e.message;
      const line = /^\[(\d+)\]$/.exec(rest);
      if (LINE_FIELDS.has(name) && line) message = t('tasksAdmin.error.line', { n: Number(line[1]) + 1, message });
      else if (QUESTION_FIELDS.has(name) && rest) message = questionMessage(rest, message);
      add(specField(kind, name), message);
    } else if (field === 'spec') {
      add(kind === 'sales_plan' ? specField(kind, 'target_quantity') : 'kind', e.message);
    } else {
      const audience = /^(audience\.\w+)\[\d+\]$/.exec(field);
      add(audience ? audience[1] : field, e.message);
    }
  }
  return [...merged].map(([field, message]) => ({ field, message }));
}

/** The places of a server's question errors: [{ question, option? }] (0-based) to mark. */
export function questionMarks(errors) {
  const marks = [];
  for (const e of errors ?? []) {
    const m = /^spec\.questions\[(\d+)\](?:\.(\w+)(?:\[(\d+)\])?)?$/.exec(String(e.field ?? ''));
    if (m)
      marks.push({ question: Number(m[1]), part: m[2] ?? 'text', option: m[3] === undefined ? null : Number(m[3]) });
  }
  return marks;
}

// --- in words -----------------------------------------------------------------------

/** A schedule's window in words: "from … to …", "from …", "until …", or "no dates". */
export function describeWindow(startsAt, endsAt, { format = when } = {}) {
  if (startsAt && endsAt) return t('tasksAdmin.window.between', { from: format(startsAt), to: format(endsAt) });
  if (startsAt) return t('tasksAdmin.window.from', { from: format(startsAt) });
  if (endsAt) return t('tasksAdmin.window.until', { to: format(endsAt) });
  return t('tasksAdmin.window.always');
}

const RECURRENCE_WORDS = {
  none: () => t('tasksAdmin.recurrence.none'),
  daily: () => t('tasksAdmin.recurrence.daily'),
  weekly: () => t('tasksAdmin.recurrence.weekly'),
};

/** How often a task starts over, as a choice in the editor. */
export function recurrenceLabel(recurrence) {
  return RECURRENCE_WORDS[recurrence]?.() ?? String(recurrence ?? '');
}

/** "Every day, from 1.03.2026, 09:00 to 31.03.2026, 18:00" (`format` formats a moment). */
export function describeSchedule(item, options) {
  return t('tasksAdmin.scheduleText', {
    recurrence: recurrenceLabel(item?.recurrence ?? 'none'),
    window: describeWindow(item?.starts_at, item?.ends_at, options),
  });
}

/** "1 completion a day · 3 attempts" / "2 completions · attempts unlimited". */
export function describeLimits(task) {
  const completions = tn('tasksAdmin.completions', task.max_completions, { n: count(task.max_completions) });
  const per =
    task.recurrence === 'daily'
      ? t('tasksAdmin.perDay', { what: completions })
      : task.recurrence === 'weekly'
        ? t('tasksAdmin.perWeek', { what: completions })
        : completions;
  const attempts = task.max_attempts
    ? tn('tasksAdmin.attempts', task.max_attempts, { n: count(task.max_attempts) })
    : t('tasksAdmin.attemptsUnlimited');
  return `${per} · ${attempts}`;
}

/**
 * An audience in words: "Everyone", or its filters ("Regions: North · Levels: Silver ·
 * Roles: Seller"). `names` maps ids to names: { regions: Map, levels: Map }; an id
 * without a name is shown as "#id".
 */
export function describeAudience(audience, names = {}) {
  const a = audience ?? {};
  const named = (ids, map) => (ids ?? []).map((id) => map?.get(id) ?? map?.get(String(id)) ?? `#${id}`).join(', ');
  const parts = [];
  if (a.regions?.length) parts.push(t('tasksAdmin.audience.regions', { list: named(a.regions, names.regions) }));
  if (a.stores?.length) parts.push(t('tasksAdmin.audience.stores', { list: named(a.stores, names.stores) }));
  if (a.levels?.length) parts.push(t('tasksAdmin.audience.levels', { list: named(a.levels, names.levels) }));
  if (a.roles?.length)
    parts.push(t('tasksAdmin.audience.roles', { list: a.roles.map((r) => ROLE_WORDS[r]?.() ?? r).join(', ') }));
  return parts.length ? parts.join(' · ') : t('tasksAdmin.audience.everyone');
}

const ROLE_WORDS = {
  seller: () => t('role.seller'),
  owner: () => t('role.owner'),
};

/** A role's name, for the audience's ticks. */
export function roleLabel(role) {
  return ROLE_WORDS[role]?.() ?? String(role);
}

/** A kind's spec in a few words: "3 questions, 2 to pass", "at least 2 photos · 4 checks". */
export function describeSpec(spec) {
  switch (spec?.kind) {
    case 'shelf_photo':
    case 'self_audit':
      return [
        tn('tasksAdmin.spec.photos', spec.min_photos ?? 1, { n: count(spec.min_photos ?? 1) }),
        spec.checklist?.length
          ? tn('tasksAdmin.spec.checks', spec.checklist.length, { n: count(spec.checklist.length) })
          : null,
      ]
        .filter(Boolean)
        .join(' · ');
    case 'price_report':
      return tn('tasksAdmin.spec.products', spec.products.length, { n: count(spec.products.length) });
    case 'stock_check':
      return spec.product ? t('tasksAdmin.spec.product', { product: spec.product }) : t('tasksAdmin.spec.anyCode');
    case 'quiz':
      return t('tasksAdmin.spec.quiz', {
        questions: tn('tasksAdmin.spec.questions', spec.questions.length, { n: count(spec.questions.length) }),
        pass: count(spec.pass_mark),
      });
    case 'survey':
      return tn('tasksAdmin.spec.questions', spec.questions.length, { n: count(spec.questions.length) });
    case 'sales_plan':
      return [
        spec.target_quantity ? t('tasksAdmin.spec.quantity', { n: count(spec.target_quantity) }) : null,
        spec.target_amount ? t('tasksAdmin.spec.amount', { points: points(spec.target_amount) }) : null,
      ]
        .filter(Boolean)
        .join(' · ');
    case 'training':
      return t('tasksAdmin.spec.course', { course: spec.course });
    default:
      return '';
  }
}

// --- submissions ----------------------------------------------------------------------

/**
 * A submission's answers (`answers`, as the server recorded them) as short lines of
 * text, with the task's `spec` naming the options chosen. Unknown shapes come out as
 * their fields.
 */
export function answerLines(record, spec) {
  const r = record ?? {};
  const out = [];
  const questions = spec?.questions ?? [];
  const optionText = (qi, oi) => questions[qi]?.options?.[oi] ?? `#${oi + 1}`;
  if (r.code) out.push(t('tasksAdmin.answer.code', { code: r.code }));
  if (Array.isArray(r.answers)) {
    r.answers.forEach((a, i) => {
      const answer =
        a.text !== undefined && a.text !== null
          ? a.text
          : (a.chosen ?? []).map((oi) => optionText(i, oi)).join(', ') || t('common.none');
      const line = t('tasksAdmin.answer.line', { question: a.question ?? `#${i + 1}`, answer });
      out.push(a.right === undefined ? line : `${line} ${a.right ? '✓' : '✗'}`);
    });
  }
  if (r.score) out.push(t('tasksAdmin.answer.score', { score: count(r.score.correct), max: count(r.score.total) }));
  if (Array.isArray(r.prices))
    r.prices.forEach((p) =>
      out.push(
        t('tasksAdmin.answer.line', {
          question: p.product,
          answer: p.price ? points(p.price) : t('tasksAdmin.answer.notOnShelf'),
        }),
      ),
    );
  if (Array.isArray(r.checklist)) r.checklist.forEach((c) => out.push(`${c.done ? '✓' : '✗'} ${c.item}`));
  if (r.course) out.push(t('tasksAdmin.answer.course', { course: r.course }));
  if (r.progress)
    out.push(
      t('tasksAdmin.answer.progress', { n: count(r.progress.quantity ?? 0), points: points(r.progress.amount ?? '0') }),
    );
  if (r.comment) out.push(t('tasksAdmin.answer.comment', { comment: r.comment }));
  const known = new Set([
    'code',
    'answers',
    'score',
    'prices',
    'checklist',
    'course',
    'completed',
    'progress',
    'comment',
  ]);
  for (const [key, value] of Object.entries(r)) {
    if (!known.has(key)) out.push(`${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  return out;
}

// --- quests -----------------------------------------------------------------------------

/**
 * The body of `createQuest` from the quest editor's values (`task_ids`: ids in order).
 * `editing`: the body of `updateQuest`, which keeps the kind. Returns { body, errors }.
 */
export function questBody(values, { editing = false } = {}) {
  const errors = [];
  const kind = values.kind;
  if (!QUEST_KINDS.includes(kind)) errors.push({ field: 'kind', message: t('tasksAdmin.check.kind') });
  if (!String(values.title ?? '').trim()) errors.push({ field: 'title', message: t('form.required') });
  const ids = (values.task_ids ?? []).map(Number);
  if (ids.length < 1 || ids.length > LIMITS.questTasks)
    errors.push({ field: 'task_ids', message: t('questsAdmin.check.tasks', { max: LIMITS.questTasks }) });
  else if (new Set(ids).size !== ids.length) errors.push({ field: 'task_ids', message: t('questsAdmin.check.once') });
  const bonus = amount(values.bonus);
  if (bonus === null) errors.push({ field: 'bonus', message: t('tasksAdmin.check.points') });
  const streak = kind === 'streak';
  let length = null;
  let unit = null;
  if (streak) {
    length = whole(values.streak_length, 2, LIMITS.streak);
    if (length === null)
      errors.push({ field: 'streak_length', message: t('questsAdmin.check.streak', { max: LIMITS.streak }) });
    unit = STREAK_UNITS.includes(values.streak_unit) ? values.streak_unit : null;
    if (!unit) errors.push({ field: 'streak_unit', message: t('questsAdmin.check.unit') });
  }
  const dates = datesBody(values, errors);
  const audience = audienceBody(values, errors);
  const body = {
    title: String(values.title ?? '').trim(),
    description: String(values.description ?? '').trim(),
    ...(editing ? {} : { kind }),
    task_ids: ids,
    bonus,
    audience,
    ...dates,
    // A streak runs over its own days or weeks.
    recurrence: streak ? 'none' : RECURRENCES.includes(values.recurrence) ? values.recurrence : 'none',
    streak_length: length,
    streak_unit: unit,
    active: values.active !== false,
  };
  return { body: errors.length ? null : body, errors };
}

/** The quest editor's values for a stored quest (null: a new one). */
export function questValues(quest) {
  const audience = quest?.audience ?? {};
  return {
    kind: quest?.kind ?? 'chain',
    title: quest?.title ?? '',
    description: quest?.description ?? '',
    task_ids: [...(quest?.task_ids ?? [])],
    bonus: quest?.bonus ?? '',
    recurrence: quest?.recurrence ?? 'none',
    streak_length: quest?.streak_length ? String(quest.streak_length) : '5',
    streak_unit: quest?.streak_unit ?? 'day',
    starts_at: toLocalInput(quest?.starts_at),
    ends_at: toLocalInput(quest?.ends_at),
    'audience.regions': [...(audience.regions ?? [])],
    'audience.stores': (audience.stores ?? []).join(', '),
    'audience.levels': [...(audience.levels ?? [])],
    'audience.roles': [...(audience.roles ?? [])],
    active: quest ? Boolean(quest.active) : true,
  };
}

/** The server's quest errors under the editor's fields (`audience.roles[0]` → `audience.roles`). */
export function questFieldErrors(errors) {
  return taskFieldErrors(errors, null);
}

const QUEST_KIND_WORDS = {
  chain: () => t('quest.kind.chain'),
  set: () => t('quest.kind.set'),
  streak: () => t('quest.kind.streak'),
};

/** A quest kind's name. */
export function questKindLabel(kind) {
  return QUEST_KIND_WORDS[kind]?.() ?? String(kind ?? '');
}

/** What a quest asks, in words: "3 tasks in order", "5 days in a row with any of 2 tasks". */
export function describeQuest(quest) {
  const n = quest.task_ids?.length ?? 0;
  const tasks = tn('questsAdmin.tasks', n, { n: count(n) });
  switch (quest.kind) {
    case 'chain':
      return t('questsAdmin.chain', { tasks });
    case 'set':
      return t('questsAdmin.set', { tasks });
    case 'streak': {
      const length = quest.streak_length ?? 0;
      const run =
        quest.streak_unit === 'week'
          ? tn('questsAdmin.weeks', length, { n: count(length) })
          : tn('questsAdmin.days', length, { n: count(length) });
      return t('questsAdmin.streak', { run, tasks });
    }
    default:
      return tasks;
  }
}

/** When a quest runs: a chain or set's recurrence and dates, a streak's dates. */
export function describeQuestSchedule(quest, options) {
  return quest.kind === 'streak'
    ? describeWindow(quest.starts_at, quest.ends_at, options)
    : describeSchedule(quest, options);
}

// --- trust ---------------------------------------------------------------------------------

/**
 * The trust settings form's values (strings and a tick) as the `TrustPolicy` the API
 * takes, checked as the server checks them. Returns { policy, errors }.
 */
export function checkTrustForm(values) {
  const errors = [];
  const threshold = whole(values.threshold, 0, 100);
  if (threshold === null) errors.push({ field: 'threshold', message: t('trust.check.percent') });
  const minDecisions = whole(values.min_decisions, 0, 1_000_000);
  if (minDecisions === null) errors.push({ field: 'min_decisions', message: t('trust.check.decisions') });
  const maxPoints = amount(values.max_points, { zero: true });
  if (maxPoints === null) errors.push({ field: 'max_points', message: t('trust.check.points') });
  const spot = whole(values.spot_check_percent, 0, 100);
  if (spot === null) errors.push({ field: 'spot_check_percent', message: t('trust.check.percent') });
  const policy = {
    enabled: Boolean(values.enabled),
    threshold,
    min_decisions: minDecisions,
    max_points: maxPoints,
    spot_check_percent: spot,
  };
  return { policy: errors.length ? null : policy, errors };
}

/** The form's values for a stored policy. */
export function trustValues(policy) {
  return {
    enabled: Boolean(policy?.enabled),
    threshold: String(policy?.threshold ?? 90),
    min_decisions: String(policy?.min_decisions ?? 20),
    max_points: policy?.max_points ?? '50.00',
    spot_check_percent: String(policy?.spot_check_percent ?? 10),
  };
}

/** The trust policy in words. */
export function describeTrust(policy) {
  if (!policy?.enabled) return t('trust.off');
  return t('trust.on', {
    points: points(policy.max_points),
    decisions: count(policy.min_decisions),
    threshold: count(policy.threshold),
    spot: count(policy.spot_check_percent),
  });
}
