// What the program tells its participants (staff with `content.view`), in three
// sections:
// - News: every item, scheduled and archived too (`listNews`, paged), with its status
//   in words and its time on the program's clock, and its audience in words. With
//   program-wide `content.edit`: a new item and a change of one in one dialog (title,
//   text, the audience by regions and levels, publish now or at a date and time on the
//   program's clock: `createNews`, `updateNews`), archive and unarchive.
// - Rules: the program's rules (`getProgramRules`); with `content.edit` their text in a
//   form (`updateProgramRules`).
// - FAQ: the entries in order (`listFaq`); with `content.edit` add and change one
//   (`createFaqEntry`, `updateFaqEntry`), move one up or down (their positions are
//   swapped) and delete one after a confirmation (`deleteFaqEntry`).
// The server's field errors (`validation_failed`) show under their fields.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can, canAny, isProgramWide } from '../session.js';
import { when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { form, checkGroup } from '../components/form.js';
import { actionButton, formDialog } from '../components/actions.js';
import { confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import {
  audienceText,
  faqMoves,
  newsRequest,
  newsStatus,
  newsStatusText,
  newsStatusWord,
  prose,
  whenIn,
  zonedInput,
} from '../components/content.js';

const HOUR = 3_600_000;

/** Server field names → the news form's. */
function newsField(field) {
  if (field === 'audience') return 'audience.regions';
  if (field === 'publish_at') return 'at';
  return field;
}

export function mount(root) {
  const editor = can('content.edit') && isProgramWide();
  let stopped = false;
  let timeZone = undefined;
  let regionList = [];
  let levelList = [];
  const names = { regions: new Map(), levels: new Map() };

  // --- news ---
  const newsList = table({
    empty: t('content.newsNone'),
    columns: [
      {
        label: t('content.newsTitle'),
        render: (n) => h('span', { 'data-news-title': n.title }, n.title),
      },
      {
        label: t('content.newsStatus'),
        render: (n) => {
          const status = newsStatus(n);
          return h(
            'span',
            null,
            h('span', { class: `badge status-${status}`, 'data-status': status }, newsStatusWord(status)),
            h('span', { class: 'muted small news-when' }, ' ', newsStatusText(n, { timeZone })),
          );
        },
      },
      { label: t('content.newsAudience'), wide: true, render: (n) => audienceText(n.audience, names) },
      ...(editor
        ? [
            {
              label: t('common.actions'),
              render: (n) =>
                h(
                  'div',
                  { class: 'row-actions' },
                  actionButton(t('content.edit'), async () => editNews(n), { testid: 'edit-news' }),
                  actionButton(
                    n.archived ? t('content.unarchive') : t('content.archive'),
                    async () => {
                      const saved = await api(`/news/${n.id}`, { method: 'PATCH', body: { archived: !n.archived } });
                      newsList.update(saved);
                      notify(
                        t(saved.archived ? 'content.archived' : 'content.unarchived', { title: saved.title }),
                        'success',
                      );
                    },
                    { testid: n.archived ? 'unarchive-news' : 'archive-news' },
                  ),
                ),
            },
          ]
        : []),
    ],
  });
  const newsPaged = pagedList({
    list: newsList,
    fetchPage: (cursor, signal) => api('/news', { signal, query: { cursor, limit: 20 } }),
  });

  function editNews(original) {
    const now = Date.now();
    const published = original && original.publish_at <= now;
    const regions = checkGroup(
      regionList.map((r) => ({ value: r.id, label: r.name })),
      original?.audience?.regions ?? [],
      { label: t('content.regions') },
    );
    const levels = checkGroup(levelList, original?.audience?.levels ?? [], { label: t('content.levels') });
    const scheduled = original && !published;
    const f = formDialog(original ? t('content.newsEditTitle', { title: original.title }) : t('content.newsCreate'), {
      className: 'form-wide news-form',
      fields: [
        {
          name: 'title',
          label: t('content.newsTitle'),
          required: true,
          value: original?.title,
          attrs: { maxlength: 300 },
        },
        {
          name: 'body',
          label: t('content.newsBody'),
          type: 'textarea',
          rows: 8,
          required: true,
          value: original?.body,
          hint: t('content.textHint'),
        },
        {
          name: 'audience.regions',
          label: t('content.regions'),
          type: 'custom',
          control: regions,
          hint: t('content.audienceHint'),
        },
        { name: 'audience.levels', label: t('content.levels'), type: 'custom', control: levels },
        {
          name: 'when',
          label: t('content.publish'),
          type: 'select',
          value: scheduled ? 'at' : 'now',
          options: [
            { value: 'now', label: published ? t('content.publishKeep') : t('content.publishNow') },
            { value: 'at', label: t('content.publishAt') },
          ],
        },
        {
          name: 'at',
          label: t('content.publishWhen'),
          type: 'datetime-local',
          value: zonedInput(original ? original.publish_at : Math.ceil((now + HOUR) / HOUR) * HOUR, timeZone),
          hint: timeZone ? t('content.zoneHint', { zone: timeZone }) : null,
        },
      ],
      submit: original ? t('common.save') : t('content.publishButton'),
      validate: (v) => newsRequest(v, { timeZone, original }).errors,
      onSubmit: async (v) => {
        const { body } = newsRequest(v, { timeZone, original });
        try {
          return original
            ? await api(`/news/${original.id}`, { method: 'PATCH', body })
            : await api('/news', { method: 'POST', body });
        } catch (error) {
          error.errors = (error.errors ?? []).map((e) => ({ ...e, field: newsField(e.field) }));
          throw error;
        }
      },
      onSuccess: (saved) => {
        notify(
          newsStatus(saved) === 'scheduled'
            ? t('content.newsScheduled', { title: saved.title, when: whenIn(saved.publish_at, timeZone) })
            : t('content.newsSaved', { title: saved.title }),
          'success',
        );
        if (original) newsList.update(saved);
        else newsPaged.reload();
      },
    });
    f.el.dataset.testid = 'news-form';
    const choice = f.input('when');
    const sync = () => {
      f.field('at').hidden = choice.value !== 'at';
    };
    choice.addEventListener('change', sync);
    sync();
  }

  const newsSection = h(
    'section',
    { class: 'card', 'data-testid': 'content-news' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', null, t('content.news')),
      editor
        ? h(
            'button',
            { type: 'button', 'data-action': 'create-news', onclick: () => editNews(null) },
            t('content.newsCreate'),
          )
        : null,
    ),
    h('p', { class: 'muted' }, t('content.newsIntro')),
    newsPaged.el,
  );

  // --- rules ---
  const rulesBody = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  const rulesUpdated = h('p', { class: 'muted small', 'data-testid': 'rules-updated', 'aria-live': 'polite' });
  const showUpdated = (rules) =>
    replace(
      rulesUpdated,
      rules.updated_at ? t('rules.updated', { when: when(rules.updated_at) }) : t('content.rulesNever'),
    );

  async function loadRules() {
    replace(rulesBody, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const rules = await api('/program/rules');
      if (stopped) return;
      showUpdated(rules);
      if (!editor) {
        replace(
          rulesBody,
          rulesUpdated,
          rules.text.trim() ? prose(rules.text) : h('p', { class: 'muted' }, t('rules.empty')),
        );
        return;
      }
      const f = form({
        className: 'form-wide rules-form',
        fields: [
          {
            name: 'text',
            label: t('content.rulesText'),
            type: 'textarea',
            rows: 14,
            required: true,
            value: rules.text,
            hint: t('content.textHint'),
          },
        ],
        submit: t('common.save'),
        onSubmit: (v) => api('/program/rules', { method: 'PUT', body: { text: v.text } }),
        onSuccess: (saved) => {
          showUpdated(saved);
          notify(t('content.rulesSaved'), 'success');
        },
      });
      f.el.dataset.testid = 'rules-form';
      replace(rulesBody, rulesUpdated, f.el);
    } catch (error) {
      replace(
        rulesBody,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: loadRules }, t('common.retry')),
      );
    }
  }

  const rulesSection = h(
    'section',
    { class: 'card', 'data-testid': 'content-rules' },
    h('h2', null, t('content.rules')),
    h('p', { class: 'muted' }, t('content.rulesIntro')),
    rulesBody,
  );

  // --- FAQ ---
  const faqBody = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('common.loading')));
  let entries = [];

  async function loadFaq() {
    try {
      entries = await api('/faq');
      if (stopped) return;
      replace(
        faqBody,
        entries.length
          ? h('ol', { class: 'faq-admin' }, entries.map(faqRow))
          : h('p', { class: 'muted', 'data-testid': 'faq-empty' }, t('faq.empty')),
      );
    } catch (error) {
      replace(
        faqBody,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: loadFaq }, t('common.retry')),
      );
    }
  }

  async function move(index, delta) {
    for (const change of faqMoves(entries, index, delta)) {
      await api(`/faq/${change.id}`, { method: 'PATCH', body: { position: change.position } });
    }
    await loadFaq();
  }

  function faqRow(entry, index) {
    return h(
      'li',
      { class: 'faq-admin-entry', 'data-id': entry.id, 'data-faq-question': entry.question },
      h('details', null, h('summary', null, entry.question), prose(entry.answer)),
      editor
        ? h(
            'div',
            { class: 'row-actions' },
            actionButton(t('content.edit'), async () => editFaq(entry), { testid: 'edit-faq' }),
            index > 0 ? actionButton(t('content.up'), () => move(index, -1), { testid: 'faq-up' }) : null,
            index < entries.length - 1
              ? actionButton(t('content.down'), () => move(index, 1), { testid: 'faq-down' })
              : null,
            actionButton(
              t('common.delete'),
              async () => {
                const sure = await confirmDialog(t('content.faqDeleteConfirm', { question: entry.question }), {
                  confirm: t('common.delete'),
                  danger: true,
                });
                if (!sure) return;
                await api(`/faq/${entry.id}`, { method: 'DELETE', as: 'none' });
                notify(t('content.faqDeleted'), 'success');
                await loadFaq();
              },
              { danger: true, testid: 'delete-faq' },
            ),
          )
        : null,
    );
  }

  function editFaq(entry) {
    const f = formDialog(entry ? t('content.faqEdit') : t('content.faqCreate'), {
      className: 'form-wide faq-form',
      fields: [
        {
          name: 'question',
          label: t('content.question'),
          required: true,
          value: entry?.question,
          attrs: { maxlength: 500 },
        },
        {
          name: 'answer',
          label: t('content.answer'),
          type: 'textarea',
          rows: 6,
          required: true,
          value: entry?.answer,
          hint: t('content.textHint'),
        },
      ],
      submit: entry ? t('common.save') : t('content.faqAdd'),
      onSubmit: (v) =>
        entry
          ? api(`/faq/${entry.id}`, { method: 'PATCH', body: { question: v.question, answer: v.answer } })
          : api('/faq', { method: 'POST', body: { question: v.question, answer: v.answer } }),
      onSuccess: () => {
        notify(t('content.faqSaved'), 'success');
        loadFaq();
      },
    });
    f.el.dataset.testid = 'faq-form';
  }

  const faqSection = h(
    'section',
    { class: 'card', 'data-testid': 'content-faq' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', null, t('content.faq')),
      editor
        ? h(
            'button',
            { type: 'button', 'data-action': 'create-faq', onclick: () => editFaq(null) },
            t('content.faqCreate'),
          )
        : null,
    ),
    faqBody,
  );

  root.append(
    h('h1', null, t('content.title')),
    h('p', { class: 'muted' }, editor ? t('content.intro') : t('content.introView')),
    newsSection,
    rulesSection,
    faqSection,
  );

  // The program's clock and levels, and the regions, name things and fill the form.
  Promise.all([
    api('/program').catch(() => null),
    canAny('regions.view', 'regions.edit') ? api('/regions').catch(() => []) : Promise.resolve([]),
  ]).then(([program, regions]) => {
    if (stopped) return;
    timeZone = program?.timezone || undefined;
    levelList = (program?.levels ?? []).map((level, index) => ({ value: index, label: level.name }));
    regionList = regions ?? [];
    names.levels = new Map(levelList.map((l) => [l.value, l.label]));
    names.regions = new Map(regionList.map((r) => [r.id, r.name]));
    newsList.setRows(newsList.rows());
  });
  loadRules();
  loadFaq();

  return () => {
    stopped = true;
    newsPaged.abort();
  };
}
