// Messages to participants beyond the inbox, shared by the staff page of templates
// (/admin/notifications) and the participant's settings (/settings): the triggers and
// channels in words, a template's `{name}` placeholders checked as the server checks
// them (only the trigger's variables; `{{` and `}}` are literal braces), a template
// rendered with sample values for the preview, the template form's request, and the
// participant's choices (quiet hours, e-mail address) checked and turned into the
// request. Everything here is pure, for the unit tests.

import { t } from '../i18n.js';

export const TRIGGERS = [
  'points_credited',
  'level_up',
  'new_task',
  'order_status',
  'task_decided',
  'registration_approved',
  'points_expiring',
];
export const CHANNELS = ['sms', 'email', 'push'];
export const LANGUAGES = ['ru', 'en'];
/** The server's limit on a title or a body. */
export const MAX_TEXT = 2000;

// Literal keys, so the dictionary test sees each of them.
const TRIGGER_WORDS = {
  points_credited: () => t('notif.trigger.pointsCredited'),
  order_status: () => t('notif.trigger.orderStatus'),
  task_decided: () => t('notif.trigger.taskDecided'),
  registration_approved: () => t('notif.trigger.registrationApproved'),
  points_expiring: () => t('notif.trigger.pointsExpiring'),
  level_up: () => t('notif.trigger.levelUp'),
  new_task: () => t('notif.trigger.newTask'),
};
const TRIGGER_HINTS = {
  points_credited: () => t('notif.triggerHint.pointsCredited'),
  order_status: () => t('notif.triggerHint.orderStatus'),
  task_decided: () => t('notif.triggerHint.taskDecided'),
  registration_approved: () => t('notif.triggerHint.registrationApproved'),
  points_expiring: () => t('notif.triggerHint.pointsExpiring'),
  level_up: () => t('notif.triggerHint.levelUp'),
  new_task: () => t('notif.triggerHint.newTask'),
};
const CHANNEL_WORDS = {
  sms: () => t('notif.channel.sms'),
  email: () => t('notif.channel.email'),
  push: () => t('notif.channel.push'),
};
const VARIABLE_WORDS = {
  amount: () => t('notif.var.amount'),
  credits: () => t('notif.var.credits'),
  balance: () => t('notif.var.balance'),
  order_id: () => t('notif.var.orderId'),
  status: () => t('notif.var.status'),
  task: () => t('notif.var.task'),
  decision: () => t('notif.var.decision'),
  comment: () => t('notif.var.comment'),
  name: () => t('notif.var.name'),
  program: () => t('notif.var.program'),
  on: () => t('notif.var.on'),
  level: () => t('notif.var.level'),
  multiplier: () => t('notif.var.multiplier'),
  points: () => t('notif.var.points'),
};

/** A trigger in words ("An order's status changes"); an unknown one as its name. */
export function triggerWord(trigger) {
  return TRIGGER_WORDS[trigger]?.() ?? String(trigger ?? '');
}

/** When a trigger's message is written, in a sentence. */
export function triggerHint(trigger) {
  return TRIGGER_HINTS[trigger]?.() ?? '';
}

/** A channel in words. */
export function channelWord(channel) {
  return CHANNEL_WORDS[channel]?.() ?? String(channel ?? '');
}

/** What a variable stands for, in words ('' for one this page does not know). */
export function variableWord(name) {
  return VARIABLE_WORDS[name]?.() ?? '';
}

/** Where a message goes: the inbox always, then the template's channels, in words. */
export function channelsText(channels) {
  const picked = CHANNELS.filter((c) => (channels ?? []).includes(c));
  return [t('notif.channel.inbox'), ...picked.map(channelWord)].join(', ');
}

/**
 * A template's parts as the server reads them: `{ text }` for literal text (with `{{`
 * and `}}` as single braces) and `{ name }` for a placeholder (trimmed), in order;
 * null when a `{` is never closed.
 */
export function templateParts(template) {
  const chars = [...String(template ?? '')];
  const parts = [];
  let text = '';
  let i = 0;
  while (i < chars.length) {
    const c = chars[i++];
    if (c === '{' && chars[i] === '{') {
      i += 1;
      text += '{';
    } else if (c === '}' && chars[i] === '}') {
      i += 1;
      text += '}';
    } else if (c === '{') {
      let name = '';
      let closed = false;
      while (i < chars.length) {
        const d = chars[i++];
        if (d === '}') {
          closed = true;
          break;
        }
        name += d;
      }
      if (!closed) return null;
      parts.push({ text });
      text = '';
      parts.push({ name: name.trim() });
    } else {
      text += c;
    }
  }
  parts.push({ text });
  return parts;
}

/**
 * Checks a title or body against the variables its trigger provides, as the server
 * does when it is saved: `null` when it is fine, else the reason in words.
 */
export function checkTemplate(template, variables) {
  const text = String(template ?? '');
  if (!text.trim()) return t('form.required');
  if ([...text].length > MAX_TEXT) return t('notif.check.long', { max: MAX_TEXT });
  const parts = templateParts(text);
  if (!parts) return t('notif.check.unclosed');
  const unknown = parts.find((p) => 'name' in p && !variables.includes(p.name));
  if (unknown)
    return t('notif.check.unknown', {
      variable: `{${unknown.name}}`,
      known: variables.map((v) => `{${v}}`).join(', '),
    });
  return null;
}

/** A template with each `{name}` replaced by its value (a missing one empty), trimmed. */
export function renderTemplate(template, values) {
  const parts = templateParts(template);
  if (!parts) return String(template ?? '');
  return parts
    .map((p) => ('name' in p ? String(values?.[p.name] ?? '') : p.text))
    .join('')
    .trim();
}

/**
 * The sample values of the preview, as the server fills them in `lang`: points and
 * dates as the server writes them, statuses and decisions in the language's words.
 */
export function sampleValues(lang, { program = 'Stimul' } = {}) {
  const ru = lang === 'ru';
  return {
    amount: '150.00',
    credits: '3',
    balance: '1250.00',
    order_id: '1024',
    status: ru ? 'отправлен' : 'shipped',
    task: ru ? 'Фото полки' : 'Shelf photo',
    decision: ru ? 'принято' : 'approved',
    comment: ru ? 'Отличное фото!' : 'Great photo!',
    name: ru ? 'Анна' : 'Anna',
    program,
    on: '2026-12-14',
  };
}

/** The form's field name of a language's title or body (the server's own). */
export function textField(lang, part) {
  return `texts.${lang}.${part}`;
}

/**
 * The template form's values (`channels`, and `texts.ru.title` … `texts.en.body`)
 * checked against `template` (its variables) and turned into the request. Texts equal
 * to the built-in ones of a template without its own are sent as null (they stay the
 * built-in ones). Returns `{ body, errors }`.
 */
export function templateRequest(values, template) {
  const errors = [];
  const variables = template.variables ?? [];
  const texts = {};
  for (const lang of LANGUAGES) {
    texts[lang] = {};
    for (const part of ['title', 'body']) {
      const field = textField(lang, part);
      const text = String(values[field] ?? '').trim();
      const problem = checkTemplate(text, variables);
      if (problem) errors.push({ field, message: problem });
      texts[lang][part] = text;
    }
  }
  const channels = CHANNELS.filter((c) => (values.channels ?? []).includes(c));
  const unchanged = LANGUAGES.every(
    (lang) =>
      texts[lang].title === (template.texts?.[lang]?.title ?? '').trim() &&
      texts[lang].body === (template.texts?.[lang]?.body ?? '').trim(),
  );
  return { body: { channels, texts: !template.custom && unchanged ? null : texts }, errors };
}

// ---- a participant's choices ----------------------------------------------------

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?$/;

/** A time as typed ("8:00", "22:00", "22:00:00") as HH:MM, or null. */
export function normalTime(text) {
  const match = TIME.exec(String(text ?? '').trim());
  return match ? `${match[1].padStart(2, '0')}:${match[2]}` : null;
}

/** Whether `text` is an e-mail address as the server takes one. */
export function emailValid(text) {
  const value = String(text ?? '').trim();
  if (!value || value.length > 254 || /[\s\p{Cc}]/u.test(value)) return false;
  const at = value.indexOf('@');
  if (at <= 0) return false;
  const domain = value.slice(at + 1);
  return domain.includes('.') && !domain.startsWith('.') && !domain.endsWith('.');
}

/** Quiet hours in words ("22:00–08:00"), or that there are none. */
export function quietText(quiet) {
  return quiet ? t('settings.quietOn', { from: quiet.from, to: quiet.to }) : t('settings.quietOff');
}

/**
 * The settings form's values (`language`, `sms`, `email`, `push`, `quiet` on/off,
 * `quiet_hours.from`, `quiet_hours.to`, `email_address`) checked and turned into the
 * request: only what differs from `current` (the settings as read). An empty address
 * removes it (null); quiet hours off clear them (null). Returns `{ body, errors }`.
 */
export function settingsRequest(values, current) {
  const errors = [];
  const body = {};
  if (values.language && values.language !== current.language) body.language = values.language;
  for (const channel of CHANNELS) {
    if (typeof values[channel] === 'boolean' && values[channel] !== current[channel]) body[channel] = values[channel];
  }
  if (values.quiet) {
    const from = normalTime(values['quiet_hours.from']);
    const to = normalTime(values['quiet_hours.to']);
    if (!from) errors.push({ field: 'quiet_hours.from', message: t('settings.timeForm') });
    if (!to) errors.push({ field: 'quiet_hours.to', message: t('settings.timeForm') });
    if (from && to && from === to) errors.push({ field: 'quiet_hours.to', message: t('settings.quietSame') });
    if (from && to && (from !== current.quiet_hours?.from || to !== current.quiet_hours?.to))
      body.quiet_hours = { from, to };
  } else if (current.quiet_hours) {
    body.quiet_hours = null;
  }
  const address = String(values.email_address ?? '').trim();
  if (address && !emailValid(address)) errors.push({ field: 'email_address', message: t('settings.emailForm') });
  else if (address !== (current.email_address ?? '')) body.email_address = address || null;
  return { body, errors };
}
