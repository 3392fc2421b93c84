// The answer form of a task, built from its `spec` (TaskSpec): photos and a checklist
// for a shelf photo or self-audit, options for a quiz or survey, prices for a price
// report, a code for a stock check, a tick for a training, nothing but a button for a
// sales plan's bonus. Sends `submitTask` as JSON, or multipart (`data` + `photos`)
// when there are photos, with an Idempotency-Key; a task sent back for rework is
// answered as a resubmission of the reworked submission.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api, uploadBody } from '../api.js';
import { form, choiceGroup } from './form.js';
import { photoPicker } from './photos.js';

/** Kinds whose answers a moderator reads: they may carry a note. */
const MODERATED = new Set(['shelf_photo', 'self_audit', 'price_report']);

/** Fields for `spec` and how their values become the `Answers` body. */
function fieldsFor(spec) {
  switch (spec.kind) {
    case 'shelf_photo':
    case 'self_audit': {
      const min = spec.min_photos ?? 0;
      const picker = photoPicker({ multiple: true });
      const checklist = spec.checklist ?? [];
      return {
        picker,
        fields: [
          {
            name: 'photos',
            label: min > 1 ? t('task.photosMin', { n: min }) : t('task.photos'),
            type: 'custom',
            control: picker,
            required: min > 0,
          },
          ...checklist.map((item, i) => ({ name: `check${i}`, label: item, type: 'checkbox' })),
        ],
        body: (v) => ({ checklist: checklist.map((_, i) => v[`check${i}`]) }),
      };
    }
    case 'quiz':
      // Participants do not see how many options are right, so every question takes
      // several ticks; exactly the right ones count.
      return {
        fields: spec.questions.map((q, i) => ({
          name: `q${i}`,
          label: q.text,
          type: 'custom',
          control: choiceGroup(q.options, { multiple: true, label: q.text }),
          required: true,
        })),
        intro: t('task.quizHint'),
        body: (v) => ({ answers: spec.questions.map((_, i) => ({ options: v[`q${i}`] })) }),
      };
    case 'survey':
      return {
        fields: spec.questions.map((q, i) =>
          q.options?.length
            ? {
                name: `q${i}`,
                label: q.text,
                type: 'custom',
                control: choiceGroup(q.options, { multiple: Boolean(q.multiple), label: q.text }),
                required: true,
              }
            : { name: `q${i}`, label: q.text, type: 'textarea', rows: 2, required: true },
        ),
        body: (v) => ({
          answers: spec.questions.map((q, i) => (q.options?.length ? { options: v[`q${i}`] } : { text: v[`q${i}`] })),
        }),
      };
    case 'price_report':
      return {
        fields: spec.products.map((product, i) => ({
          name: `price${i}`,
          label: product,
          type: 'amount',
          hint: i === 0 ? t('task.priceHint') : null,
        })),
        body: (v) => ({ prices: spec.products.map((_, i) => ({ price: v[`price${i}`] || null })) }),
      };
    case 'stock_check':
      return {
        fields: [
          {
            name: 'code',
            label: t('task.code'),
            required: true,
            hint: spec.product ? t('task.codeFor', { product: spec.product }) : t('codes.codeHint'),
            autocomplete: 'off',
            attrs: { autocapitalize: 'characters', spellcheck: 'false' },
          },
        ],
        body: (v) => ({ code: v.code }),
      };
    case 'training':
      return {
        fields: [
          {
            name: 'completed',
            label: t('task.trainingDone', { course: spec.course }),
            type: 'checkbox',
            required: true,
          },
        ],
        body: () => ({ completed: true }),
      };
    default:
      // sales_plan (the server checks the period's sales) and any kind added later.
      return { fields: [], body: () => ({}) };
  }
}

/**
 * The form for one `MyTask`. `onSubmitted(submission)` runs after the server took it.
 * Returns the form element.
 */
export function answerForm(myTask, { onSubmitted }) {
  const { task, state, last_submission: last } = myTask;
  const { fields, body, picker, intro } = fieldsFor(task.spec);
  if (MODERATED.has(task.spec.kind))
    fields.push({ name: 'comment', label: t('task.comment'), type: 'textarea', rows: 2 });
  const resubmits = state === 'rework' && last?.status === 'rework' ? last.id : null;

  const f = form({
    className: 'task-form',
    fields,
    submit: t(resubmits ? 'task.resubmit' : task.spec.kind === 'sales_plan' ? 'task.claim' : 'task.submit'),
    idempotent: true,
    onSubmit: (v, { idempotencyKey }) => {
      const answers = { ...body(v), comment: v.comment || null, resubmits };
      const photos = picker?.value() ?? [];
      return api(`/tasks/${task.id}/submissions`, {
        method: 'POST',
        body: photos.length ? uploadBody(answers, { photos }) : answers,
        idempotencyKey,
      });
    },
    onSuccess: (submission) => onSubmitted(submission),
  });
  return h('div', { class: 'task-answer' }, intro ? h('p', { class: 'muted' }, intro) : null, f.el);
}
