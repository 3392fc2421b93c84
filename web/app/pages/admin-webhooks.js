// Outbound webhooks (staff with program-wide `program.edit`): the program's
// subscriptions (`listWebhooks`) with their URL, events in words, on / off and the
// secret (masked, "show" and "copy"); a new one and a change of one in one dialog
// (`createWebhook`, `updateWebhook`: URL, events as checkboxes, description, on / off),
// the server's field errors (`validation_failed`, e.g. a private address refused)
// under their fields. Per subscription its delivery log (`listWebhookDeliveries`,
// paged, newest first), each delivery folding open to its body and every try, with
// "send again" (`resendWebhookDelivery`, 202; the log is read again a moment later).
// How a receiver checks a delivery's signature (Standard Webhooks) is explained below.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { when } from '../format.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { actionButton, formDialog } from '../components/actions.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import {
  attemptText,
  deliveryStatusWord,
  eventWord,
  eventsControl,
  eventsText,
  lastResult,
  maskSecret,
  triesText,
  webhookRequest,
} from '../components/webhooks.js';

/** How long after "send again" the log is read again (the queue sends at once). */
const REFRESH_AFTER_MS = 2000;

/** A receiver's check of a delivery, in Node (code, the same in every language). */
const SAMPLE = [
  "import { createHmac, timingSafeEqual } from 'node:crypto';",
  '',
  "const key = Buffer.from(secret.slice('whsec_'.length), 'base64');",
  "const id = req.headers['webhook-id'];",
  "const timestamp = req.headers['webhook-timestamp'];",
  "const expected = 'v1,' + createHmac('sha256', key)",
  "  .update(`${id}.${timestamp}.${rawBody}`).digest('base64');",
  "const valid = req.headers['webhook-signature'].split(' ').some((s) =>",
  '  s.length === expected.length && timingSafeEqual(Buffer.from(s), Buffer.from(expected)));',
].join('\n');

function fact(label, value, testid) {
  return h('div', null, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, deliveryStatusWord(status));
}

export function mount(root) {
  let stopped = false;
  const revealed = new Set();
  let shownHook = null; // the subscription whose deliveries show
  let deliveries = null; // its paged list
  let refreshTimer = null;

  // --- subscriptions ---
  const list = table({
    empty: t('webhooks.none'),
    columns: [
      {
        label: t('webhooks.url'),
        render: (w) =>
          h(
            'div',
            { 'data-webhook-url': w.url },
            h('span', { class: 'mono webhook-url' }, w.url),
            w.description ? h('div', { class: 'muted small' }, w.description) : null,
          ),
      },
      {
        label: t('webhooks.events'),
        render: (w) =>
          h(
            'ul',
            { class: 'plain-list small' },
            eventsText(w.events).map((e) => h('li', null, e)),
          ),
      },
      {
        label: t('webhooks.state'),
        render: (w) =>
          h(
            'span',
            { class: `badge ${w.active ? 'status-active' : 'status-disconnected'}`, 'data-active': String(w.active) },
            w.active ? t('webhooks.on') : t('webhooks.off'),
          ),
      },
      { label: t('webhooks.secret'), render: secretCell },
      {
        label: t('common.actions'),
        render: (w) =>
          h(
            'div',
            { class: 'row-actions' },
            actionButton(t('webhooks.deliveries'), async () => showDeliveries(w), { testid: 'webhook-deliveries' }),
            actionButton(t('webhooks.edit'), async () => edit(w), { testid: 'edit-webhook' }),
            actionButton(
              w.active ? t('webhooks.switchOff') : t('webhooks.switchOn'),
              async () => {
                const saved = await api(`/webhooks/${w.id}`, { method: 'PATCH', body: { active: !w.active } });
                list.update(saved);
                notify(t(saved.active ? 'webhooks.switchedOn' : 'webhooks.switchedOff', { url: saved.url }), 'success');
              },
              { testid: w.active ? 'switch-off' : 'switch-on' },
            ),
          ),
      },
    ],
  });
  const listStatus = h('div', { 'aria-live': 'polite' });

  function secretCell(w) {
    const shown = revealed.has(w.id);
    const code = h(
      'code',
      { class: 'secret', 'data-testid': 'webhook-secret' },
      shown ? w.secret : maskSecret(w.secret),
    );
    const copy = async () => {
      try {
        if (!navigator.clipboard) throw new Error('no clipboard');
        await navigator.clipboard.writeText(w.secret);
        notify(t('webhooks.copied'), 'success');
      } catch {
        // No clipboard here (plain http): show it, selected, to copy by hand.
        revealed.add(w.id);
        list.update(w);
        const shownCode = list.el.querySelector(`[data-secret-of="${w.id}"] code`);
        if (shownCode) getSelection()?.selectAllChildren(shownCode);
        notify(t('webhooks.copyByHand'), 'info');
      }
    };
    return h(
      'div',
      { class: 'secret-cell', 'data-secret-of': w.id },
      code,
      h(
        'div',
        { class: 'row-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'small secondary',
            'data-action': 'show-secret',
            'aria-pressed': String(shown),
            onclick: () => {
              if (shown) revealed.delete(w.id);
              else revealed.add(w.id);
              list.update(w);
            },
          },
          shown ? t('webhooks.hide') : t('webhooks.show'),
        ),
        h(
          'button',
          { type: 'button', class: 'small secondary', 'data-action': 'copy-secret', onclick: copy },
          t('webhooks.copy'),
        ),
      ),
    );
  }

  async function load() {
    replace(listStatus, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const hooks = await api('/webhooks');
      if (stopped) return;
      list.setRows(hooks);
      replace(listStatus);
    } catch (error) {
      if (stopped) return;
      list.setRows([]);
      replace(
        listStatus,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
      );
    }
  }

  function edit(original) {
    const events = eventsControl(original?.events ?? []);
    const fields = [
      {
        name: 'url',
        label: t('webhooks.url'),
        type: 'url',
        required: true,
        value: original?.url,
        placeholder: 'https://example.com/hook',
        hint: t('webhooks.urlHint'),
        attrs: { maxlength: 2000, spellcheck: 'false' },
      },
      { name: 'events', label: t('webhooks.events'), type: 'custom', control: events, hint: t('webhooks.eventsHint') },
      {
        name: 'description',
        label: t('webhooks.description'),
        value: original?.description,
        hint: t('webhooks.descriptionHint'),
        attrs: { maxlength: 500 },
      },
    ];
    if (original)
      fields.push({ name: 'active', label: t('webhooks.activeLabel'), type: 'checkbox', value: original.active });
    const f = formDialog(original ? t('webhooks.editTitle', { url: original.url }) : t('webhooks.create'), {
      className: 'form-wide webhook-form',
      fields,
      submit: original ? t('common.save') : t('webhooks.createButton'),
      validate: (v) => webhookRequest(v, original).errors,
      onSubmit: async (v) => {
        const { body } = webhookRequest(v, original);
        if (!original) return api('/webhooks', { method: 'POST', body });
        if (!Object.keys(body).length) return original;
        return api(`/webhooks/${original.id}`, { method: 'PATCH', body });
      },
      onSuccess: (saved) => {
        if (original) {
          list.update(saved);
          if (shownHook?.id === saved.id) showDeliveries(saved);
          notify(t('webhooks.saved', { url: saved.url }), 'success');
        } else {
          list.setRows([...list.rows(), saved]);
          replace(listStatus);
          notify(t('webhooks.created', { url: saved.url }), 'success');
        }
      },
    });
    f.el.dataset.testid = 'webhook-form';
  }

  // --- deliveries ---
  const deliveriesCard = h('section', { class: 'card', hidden: true, 'data-testid': 'webhook-log' });
  const open = new Set(); // deliveries folded open, kept across a refresh

  function deliveryView(d) {
    const badge = statusBadge(d.status);
    const tries = d.attempts ?? [];
    const last = lastResult(d);
    const el = h(
      'details',
      { class: 'delivery', 'data-delivery-id': d.id, 'data-status': d.status, open: open.has(d.id) },
      h(
        'summary',
        null,
        badge,
        ' ',
        h('span', { class: 'delivery-event' }, eventWord(d.event_type)),
        ' ',
        h(
          'span',
          { class: 'muted small' },
          [when(d.created_at), triesText(tries.length), last].filter(Boolean).join(' · '),
        ),
      ),
      h(
        'dl',
        { class: 'facts' },
        fact(t('webhooks.messageId'), h('code', null, d.message_id)),
        fact(t('webhooks.eventName'), h('code', null, d.event_type)),
        fact(t('webhooks.createdAt'), when(d.created_at)),
        fact(t('webhooks.deliveredAt'), d.delivered_at ? when(d.delivered_at) : t('common.none')),
      ),
      h('h4', null, t('webhooks.payload')),
      h('pre', { class: 'mono payload', 'data-testid': 'delivery-payload' }, JSON.stringify(d.payload, null, 2)),
      h('h4', null, t('webhooks.attempts')),
      tries.length
        ? h(
            'ol',
            { class: 'delivery-tries small' },
            tries.map((a) => h('li', null, h('span', { class: 'muted' }, when(a.created_at)), ' ', attemptText(a))),
          )
        : h('p', { class: 'muted small' }, t('webhooks.attemptsNone')),
      h(
        'div',
        { class: 'actions' },
        actionButton(
          t('webhooks.resend'),
          async () => {
            await api(`/webhooks/deliveries/${d.id}/resend`, { method: 'POST', as: 'none' });
            el.dataset.status = 'pending';
            badge.replaceWith(statusBadge('pending'));
            notify(t('webhooks.resent'), 'success');
            clearTimeout(refreshTimer);
            refreshTimer = setTimeout(() => deliveries?.reload(), REFRESH_AFTER_MS);
          },
          { secondary: false, testid: 'resend' },
        ),
      ),
    );
    el.addEventListener('toggle', () => (el.open ? open.add(d.id) : open.delete(d.id)));
    return el;
  }

  /** The list `pagedList` fills: deliveries folded shut, or a word when there are none. */
  function deliveryList() {
    const el = h('div', { class: 'delivery-list' });
    const empty = h('p', { class: 'muted', 'data-testid': 'deliveries-empty' }, t('webhooks.deliveriesNone'));
    const append = (items) => {
      empty.remove();
      el.append(...items.map(deliveryView));
      if (!el.children.length) el.append(empty);
    };
    return {
      el,
      setRows: (items) => {
        replace(el);
        append(items);
      },
      append,
    };
  }

  function showDeliveries(w) {
    clearTimeout(refreshTimer);
    deliveries?.abort();
    if (shownHook?.id !== w.id) open.clear();
    shownHook = w;
    deliveries = pagedList({
      list: deliveryList(),
      fetchPage: (cursor, signal) => api(`/webhooks/${w.id}/deliveries`, { signal, query: { cursor, limit: 20 } }),
    });
    replace(
      deliveriesCard,
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, t('webhooks.deliveriesTitle')),
        h(
          'div',
          { class: 'row-actions' },
          h(
            'button',
            {
              type: 'button',
              class: 'small secondary',
              'data-action': 'refresh-deliveries',
              onclick: () => deliveries.reload(),
            },
            t('webhooks.refresh'),
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'small secondary',
              'data-action': 'close-deliveries',
              onclick: () => {
                clearTimeout(refreshTimer);
                deliveries?.abort();
                deliveries = null;
                shownHook = null;
                deliveriesCard.hidden = true;
              },
            },
            t('common.close'),
          ),
        ),
      ),
      h('p', { class: 'mono small', 'data-webhook-url': w.url }, w.url),
      h('p', { class: 'muted' }, t('webhooks.deliveriesIntro')),
      deliveries.el,
    );
    deliveriesCard.hidden = false;
    deliveriesCard.scrollIntoView?.({ block: 'nearest' });
  }

  root.append(
    h('h1', null, t('webhooks.title')),
    h('p', { class: 'muted' }, t('webhooks.intro')),
    h(
      'section',
      { class: 'card', 'data-testid': 'webhooks' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, t('webhooks.subscriptions')),
        h(
          'button',
          { type: 'button', 'data-action': 'create-webhook', onclick: () => edit(null) },
          t('webhooks.create'),
        ),
      ),
      list.el,
      listStatus,
    ),
    deliveriesCard,
    h(
      'section',
      { class: 'card', 'data-testid': 'webhooks-verify' },
      h('h2', null, t('webhooks.verifyTitle')),
      h('p', null, t('webhooks.verifyIntro')),
      h(
        'ol',
        null,
        h('li', null, t('webhooks.verify1')),
        h('li', null, t('webhooks.verify2')),
        h('li', null, t('webhooks.verify3')),
        h('li', null, t('webhooks.verify4')),
      ),
      h('p', { class: 'muted' }, t('webhooks.verifyLibs')),
      h('pre', { class: 'mono payload' }, SAMPLE),
    ),
  );
  load();

  return () => {
    stopped = true;
    clearTimeout(refreshTimer);
    deliveries?.abort();
  };
}
