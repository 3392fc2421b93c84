// Message templates (staff with program-wide `program.view`; changing them takes
// `program.edit`): one card per trigger (`listNotificationTemplates`), the trigger in
// words, where its message goes (the inbox always, then SMS, e-mail, push as chosen),
// whether the texts are the program's own or the built-in ones, and the message as a
// person would read it in Russian and English with sample values. The editor: the
// channels (SMS costs money: said so), the Russian and English title and body with
// the trigger's variables as chips that insert `{name}` where the cursor is, each text
// checked as typed as the server checks it (only those variables; `{{` and `}}` are
// literal braces), a live preview; "Save" (`updateNotificationTemplate`) or "Reset to
// the built-in texts" (the same with `texts: null`). The server's field errors under
// their fields.

import { h, replace, uid } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { form } from '../components/form.js';
import { confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import {
  CHANNELS,
  LANGUAGES,
  channelWord,
  channelsText,
  checkTemplate,
  renderTemplate,
  sampleValues,
  templateRequest,
  textField,
  triggerHint,
  triggerWord,
  variableWord,
} from '../components/notifications.js';

// Literal keys, so the dictionary test sees each of them.
const LANGUAGE_LABELS = {
  ru: () => t('notif.inRussian'),
  en: () => t('notif.inEnglish'),
};
const FIELD_LABELS = {
  'texts.ru.title': () => t('notif.titleRu'),
  'texts.ru.body': () => t('notif.bodyRu'),
  'texts.en.title': () => t('notif.titleEn'),
  'texts.en.body': () => t('notif.bodyEn'),
};

/** The channel checkboxes for a `custom` field: each box's `value` is the channel's name. */
function channelsControl(selected) {
  const boxes = CHANNELS.map((channel) => {
    const id = uid(`channel-${channel}`);
    const input = h('input', { id, type: 'checkbox', value: channel, checked: selected.includes(channel) });
    return { channel, input, el: h('div', { class: 'choice' }, input, h('label', { for: id }, channelWord(channel))) };
  });
  // The inbox always gets the message: shown ticked, not to be unticked.
  const inboxId = uid('channel-inbox');
  const inbox = h(
    'div',
    { class: 'choice' },
    h('input', { id: inboxId, type: 'checkbox', checked: true, disabled: true }),
    h('label', { for: inboxId }, t('notif.channel.inbox')),
  );
  return {
    el: h(
      'div',
      { class: 'choices choices-row', role: 'group', 'aria-label': t('notif.channels'), tabindex: -1 },
      inbox,
      boxes.map((b) => b.el),
    ),
    value: () => boxes.filter((b) => b.input.checked).map((b) => b.channel),
    inputs: boxes.map((b) => b.input),
  };
}

/** A message as a person would read it in `lang`, with sample values. */
function preview(texts, lang, values) {
  return h(
    'div',
    { class: 'template-preview', lang, 'data-lang': lang, 'data-testid': 'template-preview' },
    h('div', { class: 'muted small' }, LANGUAGE_LABELS[lang]()),
    h('strong', { class: 'preview-title' }, renderTemplate(texts?.title ?? '', values)),
    h('p', { class: 'preview-body' }, renderTemplate(texts?.body ?? '', values)),
  );
}

export function mount(root) {
  const editor = can('program.edit');
  let stopped = false;
  let program = undefined;
  const samples = (lang) => sampleValues(lang, program ? { program } : {});
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('common.loading')));

  function templateCard(initial) {
    let tpl = initial;
    const card = h('section', { class: 'card template-card', 'data-trigger': tpl.trigger });

    function head(action) {
      return [
        h('div', { class: 'card-head' }, h('h2', null, triggerWord(tpl.trigger)), action),
        h('p', { class: 'muted' }, triggerHint(tpl.trigger)),
      ];
    }

    function showSummary() {
      card.dataset.custom = String(tpl.custom);
      replace(
        card,
        head(
          editor
            ? h(
                'button',
                { type: 'button', class: 'secondary', 'data-action': 'edit-template', onclick: showEditor },
                t('notif.edit'),
              )
            : null,
        ),
        h(
          'p',
          null,
          h(
            'span',
            { 'data-testid': 'template-channels', 'data-channels': tpl.channels.join(' ') },
            t('notif.goesTo', { channels: channelsText(tpl.channels) }),
          ),
          ' ',
          h(
            'span',
            { class: `badge ${tpl.custom ? 'status-active' : 'status-disconnected'}`, 'data-testid': 'template-kind' },
            tpl.custom ? t('notif.custom') : t('notif.builtIn'),
          ),
        ),
        h(
          'div',
          { class: 'template-previews' },
          LANGUAGES.map((lang) => preview(tpl.texts?.[lang], lang, samples(lang))),
        ),
      );
    }

    function showEditor() {
      const channels = channelsControl(tpl.channels);
      const smsCost = h(
        'p',
        { class: 'notice', 'data-testid': 'sms-cost', hidden: !tpl.channels.includes('sms') },
        t('notif.smsCost'),
      );
      let target = null; // the text field the chips write into
      const f = form({
        className: 'form-wide template-form',
        fields: [
          {
            name: 'channels',
            label: t('notif.channels'),
            type: 'custom',
            control: channels,
            hint: t('notif.channelsHint'),
          },
          ...LANGUAGES.flatMap((lang) =>
            ['title', 'body'].map((part) => {
              const name = textField(lang, part);
              return {
                name,
                label: FIELD_LABELS[name](),
                type: part === 'body' ? 'textarea' : 'text',
                rows: 3,
                required: true,
                value: tpl.texts?.[lang]?.[part] ?? '',
                attrs: { lang, maxlength: 2000, spellcheck: lang === 'ru' ? 'true' : null },
              };
            }),
          ),
        ],
        submit: t('common.save'),
        extra: [
          h(
            'button',
            { type: 'button', class: 'secondary', 'data-action': 'reset-template', onclick: () => reset() },
            t('notif.reset'),
          ),
          h(
            'button',
            { type: 'button', class: 'secondary', 'data-action': 'cancel-template', onclick: showSummary },
            t('common.cancel'),
          ),
        ],
        validate: (v) => templateRequest(v, tpl).errors,
        onSubmit: (v) =>
          api(`/notification-templates/${tpl.trigger}`, { method: 'PUT', body: templateRequest(v, tpl).body }),
        onSuccess: (saved) => {
          tpl = saved;
          showSummary();
          notify(t('notif.saved', { trigger: triggerWord(saved.trigger) }), 'success');
        },
      });
      f.el.dataset.testid = 'template-form';

      const textInputs = LANGUAGES.flatMap((lang) => ['title', 'body'].map((part) => f.input(textField(lang, part))));
      target = f.input(textField(LANGUAGES[0], 'body'));
      for (const input of textInputs) input.addEventListener('focus', () => (target = input));

      // The variables, as chips that insert `{name}` where the cursor is.
      const chips = h(
        'div',
        { class: 'var-chips', 'data-testid': 'template-variables' },
        h('span', { class: 'muted small' }, t('notif.variables')),
        tpl.variables.map((name) =>
          h(
            'button',
            {
              type: 'button',
              class: 'chip var-chip',
              'data-variable': name,
              title: variableWord(name),
              onmousedown: (event) => event.preventDefault(), // keep the cursor where it is
              onclick: () => {
                const input = target ?? textInputs[0];
                const placeholder = `{${name}}`;
                const start = input.selectionStart ?? input.value.length;
                const end = input.selectionEnd ?? start;
                input.setRangeText(placeholder, start, end, 'end');
                input.focus();
                input.dispatchEvent(new Event('input', { bubbles: true }));
              },
            },
            `{${name}}`,
          ),
        ),
        h('span', { class: 'hint' }, t('notif.variablesHint')),
      );

      // Each text checked as typed (the message under its field), and the preview.
      const previews = h('div', { class: 'template-previews', 'aria-live': 'polite' });
      const check = (input) => {
        const wrapper = input.closest('.field');
        const message = wrapper?.querySelector('.field-error');
        const problem = checkTemplate(input.value, tpl.variables);
        if (message) message.textContent = problem ?? '';
        if (problem) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      };
      const update = () => {
        const v = f.values();
        replace(
          previews,
          LANGUAGES.map((lang) =>
            preview({ title: v[textField(lang, 'title')], body: v[textField(lang, 'body')] }, lang, samples(lang)),
          ),
        );
        smsCost.hidden = !channels.value().includes('sms');
      };
      for (const input of textInputs) input.addEventListener('input', () => check(input));
      f.el.addEventListener('input', update);
      f.el.addEventListener('change', update);
      update();

      f.field('channels').after(smsCost);
      f.field(textField(LANGUAGES[0], 'title')).before(chips);
      f.el.querySelector('.form-alert').before(h('h3', null, t('notif.preview')), previews);

      async function reset() {
        if (tpl.custom && !(await confirmDialog(t('notif.resetConfirm'), { confirm: t('notif.reset') }))) return;
        try {
          const saved = await api(`/notification-templates/${tpl.trigger}`, {
            method: 'PUT',
            body: { channels: tpl.channels, texts: null },
          });
          tpl = saved;
          showSummary();
          notify(t('notif.resetDone', { trigger: triggerWord(saved.trigger) }), 'success');
        } catch (error) {
          f.showProblem(error);
        }
      }

      replace(card, head(null), f.el);
      f.input(textField(LANGUAGES[0], 'title'))?.focus({ preventScroll: true });
    }

    showSummary();
    return card;
  }

  async function load() {
    replace(body, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const [templates, info] = await Promise.all([api('/notification-templates'), api('/program').catch(() => null)]);
      if (stopped) return;
      program = info?.name || undefined;
      replace(
        body,
        templates.length
          ? templates.map(templateCard)
          : h('p', { class: 'muted', 'data-testid': 'templates-empty' }, t('notif.none')),
      );
    } catch (error) {
      if (stopped) return;
      replace(
        body,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
      );
    }
  }

  root.append(
    h('h1', null, t('notif.title')),
    h('p', { class: 'muted' }, editor ? t('notif.intro') : t('notif.introView')),
    h('p', { class: 'notice notice-info' }, t('notif.channelsIntro')),
    body,
  );
  load();

  return () => {
    stopped = true;
  };
}
