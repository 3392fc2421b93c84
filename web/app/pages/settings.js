// Message settings (active participants; linked from /seller and the menu): the
// language of their SMS, e-mail and push messages, each of those channels on or off,
// quiet hours (SMS and push wait until they end, on the program's clock) and the
// e-mail address (`getMyNotificationSettings`). Saved with
// `updateMyNotificationSettings`: only what changed is sent; quiet hours switched off
// are cleared (null) and an emptied address is removed (null). The times and the
// address are checked here as the server checks them, its field errors under their
// fields. Login codes and the inbox are not affected, and the page says so.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { form } from '../components/form.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { CHANNELS, channelWord, quietText, settingsRequest } from '../components/notifications.js';

// Literal keys, so the dictionary test sees each of them.
const LANGUAGE_WORDS = {
  ru: () => t('lang.ru'),
  en: () => t('lang.en'),
};
const CHANNEL_HINTS = {
  sms: () => t('settings.smsHint'),
  email: () => t('settings.emailHint'),
  push: () => t('settings.pushHint'),
};

/** The server's field names → the form's. */
function formField(field) {
  return field === 'quiet_hours' ? 'quiet_hours.from' : field;
}

function fact(label, value, testid) {
  return h('div', null, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

export function mount(root) {
  let stopped = false;
  let current = null;
  const summary = h('dl', { class: 'facts', 'data-testid': 'settings-summary', 'aria-live': 'polite' });
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));

  function showSummary(settings) {
    const on = CHANNELS.filter((c) => settings[c]).map(channelWord);
    replace(
      summary,
      fact(t('settings.language'), LANGUAGE_WORDS[settings.language]?.() ?? settings.language, 'settings-language'),
      fact(t('settings.channelsOn'), on.length ? on.join(', ') : t('settings.channelsNone'), 'settings-channels'),
      fact(t('settings.quiet'), quietText(settings.quiet_hours), 'settings-quiet'),
      fact(t('settings.emailAddress'), settings.email_address ?? t('settings.emailNone'), 'settings-email'),
    );
  }

  function settingsForm(settings) {
    const f = form({
      className: 'settings-form',
      fields: [
        {
          name: 'language',
          label: t('settings.language'),
          type: 'select',
          value: settings.language,
          hint: t('settings.languageHint'),
          options: ['ru', 'en'].map((lang) => ({ value: lang, label: LANGUAGE_WORDS[lang]() })),
        },
        ...CHANNELS.map((channel) => ({
          name: channel,
          label: channelWord(channel),
          type: 'checkbox',
          value: settings[channel],
          hint: CHANNEL_HINTS[channel](),
        })),
        {
          name: 'email_address',
          label: t('settings.emailAddress'),
          type: 'email',
          value: settings.email_address ?? '',
          autocomplete: 'email',
          hint: t('settings.emailAddressHint'),
          attrs: { maxlength: 254, spellcheck: 'false' },
        },
        {
          name: 'quiet',
          label: t('settings.quietLabel'),
          type: 'checkbox',
          value: Boolean(settings.quiet_hours),
          hint: t('settings.quietHint'),
        },
        {
          name: 'quiet_hours.from',
          label: t('settings.quietFrom'),
          type: 'time',
          value: settings.quiet_hours?.from ?? '22:00',
        },
        {
          name: 'quiet_hours.to',
          label: t('settings.quietTo'),
          type: 'time',
          value: settings.quiet_hours?.to ?? '08:00',
        },
      ],
      submit: t('common.save'),
      validate: (v) => settingsRequest(v, current).errors,
      onSubmit: async (v) => {
        const { body: change } = settingsRequest(v, current);
        if (!Object.keys(change).length) return current;
        try {
          return await api('/me/notification-settings', { method: 'PUT', body: change });
        } catch (error) {
          error.errors = (error.errors ?? []).map((e) => ({ ...e, field: formField(e.field) }));
          throw error;
        }
      },
      onSuccess: (saved) => {
        current = saved;
        showSummary(saved);
        f.setValue('email_address', saved.email_address ?? '');
        f.setValue('quiet', Boolean(saved.quiet_hours));
        if (saved.quiet_hours) {
          f.setValue('quiet_hours.from', saved.quiet_hours.from);
          f.setValue('quiet_hours.to', saved.quiet_hours.to);
        }
        sync();
        notify(t('settings.saved'), 'success');
      },
    });
    f.el.dataset.testid = 'settings-form';

    // The times only while quiet hours are on; a note when e-mail has nowhere to go.
    const noAddress = h(
      'p',
      { class: 'notice', 'data-testid': 'settings-no-address', hidden: true },
      t('settings.noAddress'),
    );
    f.field('email_address').after(noAddress);
    const sync = () => {
      const v = f.values();
      f.field('quiet_hours.from').hidden = !v.quiet;
      f.field('quiet_hours.to').hidden = !v.quiet;
      noAddress.hidden = !(v.email && !v.email_address);
    };
    f.el.addEventListener('input', sync);
    f.el.addEventListener('change', sync);
    sync();
    return f.el;
  }

  async function load() {
    replace(body, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const settings = await api('/me/notification-settings');
      if (stopped) return;
      current = settings;
      showSummary(settings);
      replace(body, summary, settingsForm(settings));
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
    h('h1', null, t('settings.title')),
    h('p', { class: 'muted' }, t('settings.intro')),
    h('p', { class: 'notice notice-info', 'data-testid': 'settings-not-affected' }, t('settings.notAffected')),
    h('section', { class: 'card', 'data-testid': 'settings' }, h('h2', null, t('settings.messages')), body),
  );
  load();

  return () => {
    stopped = true;
  };
}
