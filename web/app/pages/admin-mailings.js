// Mailings to a segment of participants (staff with program-wide `content.view`; with
// `content.edit` they send them), in three parts:
// - the composer: who gets it (regions and levels ticked, store numbers, sellers and
//   store owners, active or inactive since a day), how many that reaches now (asked
//   again a moment after every change: `countMailingAudience`), the texts in Russian
//   (required) and English (optional) with a preview on a phone, the channels (the inbox
//   always; SMS costs money and says how much; e-mail; push), and when: now or at a date
//   and time on the program's clock. "Send" asks in a dialog naming the reach and the
//   channels, then `createMailing` with one Idempotency-Key per attempt (a retry after a
//   lost answer reuses it, so nobody gets it twice); the server's field errors go under
//   their fields;
// - one mailing's progress, read again every second while it is scheduled or sending
//   (`getMailing`): inbox messages written of its recipients as a bar, each channel's
//   messages handed over, delivered, failed and waiting; "cancel" while it is not over;
// - the program's mailings (`listMailings`), paged: status in words, reach, written,
//   when; opening one shows its progress.

import { h, replace, debounce, uid } from '../dom.js';
import { t, locale } from '../i18n.js';
import { api } from '../api.js';
import { can, canAny, isProgramWide } from '../session.js';
import { count } from '../format.js';
import { form, checkGroup } from '../components/form.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { openDialog, confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { problemBox, describe } from '../components/problem.js';
import { zonedInput, whenIn, paragraphs } from '../components/content.js';
import { todayIn } from '../components/recalculation.js';
import {
  CHANNELS,
  ROLES,
  LIMITS,
  isUnderWay,
  mailingAudience,
  mailingRequest,
  mailingErrorField,
  mailingStatusWord,
  mailingStatusText,
  mailingPercent,
  channelFigures,
  channelWord,
  channelsText,
  mailingRoleWord,
  mailingAudienceText,
  peopleText,
  textsFor,
  smsText,
  smsParts,
  smsPerPerson,
} from '../components/mailings.js';

/** How often a mailing under way is read again. */
const POLL_MS = 1000;
/** How often a finished one is read while some channel still has messages waiting. */
const SETTLE_MS = 5000;
/** The pause after a change of the segment before it is counted. */
const COUNT_DELAY_MS = 300;
const HOUR = 3_600_000;

// Literal keys, so the dictionary test sees each of them.
const CHANNEL_HINTS = {
  sms: () => t('mailings.channelHint.sms'),
  email: () => t('mailings.channelHint.email'),
  push: () => t('mailings.channelHint.push'),
};

function fact(label, value, testid = null) {
  return h('div', null, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, mailingStatusWord(status));
}

export function mount(root) {
  const editor = can('content.edit') && isProgramWide();
  let stopped = false;
  let timeZone = undefined;
  let names = { regions: new Map(), levels: new Map() };
  let regionList = [];
  let levelList = [];

  // The program's clock and levels, and the regions: the composer picks from them, the
  // list and the progress name them.
  const namesLoaded = Promise.all([
    api('/program').catch(() => null),
    canAny('regions.view', 'regions.edit') ? api('/regions').catch(() => []) : Promise.resolve([]),
  ]).then(([program, regions]) => {
    timeZone = program?.timezone || undefined;
    levelList = (program?.levels ?? []).map((level, index) => ({ value: index, label: level.name }));
    regionList = regions ?? [];
    names = {
      levels: new Map(levelList.map((l) => [l.value, l.label])),
      regions: new Map(regionList.map((r) => [r.id, r.name])),
    };
  });
  const titleOf = (m) => textsFor(m.texts, locale).title || '—';
  const audienceOf = (m) => mailingAudienceText(m.audience, names);

  // --- the list -----------------------------------------------------------------------
  let openId = null;
  const list = table({
    empty: t('mailings.none'),
    rowClass: (m) => (m.id === openId ? 'row-open' : null),
    columns: [
      { label: '#', numeric: true, render: (m) => h('span', { 'data-mailing-id': m.id }, String(m.id)) },
      {
        label: t('mailings.col.title'),
        render: (m) =>
          h(
            'button',
            {
              type: 'button',
              class: 'link mailing-open',
              'data-action': 'open-mailing',
              'data-mailing-title': titleOf(m),
              onclick: () => open(m.id),
            },
            titleOf(m),
          ),
      },
      {
        label: t('mailings.col.status'),
        render: (m) =>
          h(
            'span',
            null,
            statusBadge(m.status),
            h('span', { class: 'muted small' }, ' ', mailingStatusText(m, { timeZone })),
          ),
      },
      { label: t('mailings.col.audience'), wide: true, render: audienceOf },
      { label: t('mailings.col.channels'), wide: true, render: (m) => channelsText(m.channels) },
      { label: t('mailings.col.reach'), numeric: true, render: (m) => count(m.recipients) },
      {
        label: t('mailings.col.written'),
        numeric: true,
        render: (m) => h('span', { 'data-written': m.written }, count(m.written)),
      },
      { label: t('mailings.col.when'), render: (m) => whenIn(m.send_at, timeZone) },
    ],
  });
  const paged = pagedList({
    list,
    fetchPage: async (cursor, signal) => {
      await namesLoaded;
      const page = await api('/mailings', { signal, query: { cursor, limit: 20 } });
      // One being sent now (from another tab, or before this page opened) is shown.
      const sending = page.items?.find((m) => m.status === 'sending');
      if (!cursor && sending && openId === null) setTimeout(() => open(sending.id), 0);
      return page;
    },
  });

  /** A mailing in the list: its row replaced, or added at the top when new. */
  function listMailing(mailing) {
    if (list.rows().some((m) => m.id === mailing.id)) list.update(mailing);
    else list.setRows([mailing, ...list.rows()]);
  }

  // --- one mailing's progress ------------------------------------------------------------
  const progressBox = h('div');
  const progressCard = h(
    'section',
    { class: 'card', 'data-testid': 'mailing-progress-card', hidden: true },
    progressBox,
  );
  let view = null; // { id, update(m) }
  let timer = null;
  let reading = null; // the AbortController of a read in flight

  function stopFollowing() {
    clearTimeout(timer);
    timer = null;
    reading?.abort();
    reading = null;
  }

  /**
   * Opens a mailing: `known` when it was just sent (shown at once, then followed), else
   * it is read (the list has no delivery figures).
   */
  async function open(id, known = null) {
    stopFollowing();
    const previous = openId;
    openId = id;
    for (const m of list.rows()) if (m.id === id || m.id === previous) list.update(m);
    progressCard.hidden = false;
    view = null;
    if (known) show(known);
    else replace(progressBox, h('p', { class: 'muted' }, t('common.loading')));
    progressCard.scrollIntoView?.({ block: 'nearest' });
    if (!known) await read(id);
  }

  async function read(id) {
    timer = null;
    const controller = new AbortController();
    reading = controller;
    try {
      const mailing = await api(`/mailings/${id}`, { signal: controller.signal });
      if (stopped || openId !== id) return;
      show(mailing);
    } catch (error) {
      if (error.name === 'AbortError' || stopped || openId !== id) return;
      // Lost track (the connection, a restart): say so, and offer to look again.
      const retry = h(
        'div',
        { class: 'mailing-lost', 'data-testid': 'mailing-lost' },
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: () => read(id) }, t('common.retry')),
      );
      if (view) view.lost(retry);
      else replace(progressBox, retry);
    } finally {
      if (reading === controller) reading = null;
    }
  }

  /** Shows a mailing and, while it is under way, reads it again. */
  function show(mailing) {
    const before = view?.id === mailing.id ? view.status : null;
    if (view?.id !== mailing.id) {
      view = progressView(mailing);
      replace(progressBox, view.el);
    }
    view.update(mailing);
    listMailing(mailing);
    if (before && isUnderWay({ status: before }) && !isUnderWay(mailing)) {
      notify(
        mailing.status === 'finished'
          ? t('mailings.finishedToast', { id: mailing.id, people: peopleText(mailing.written) })
          : t('mailings.cancelledToast', { id: mailing.id }),
        mailing.status === 'finished' ? 'success' : 'info',
      );
    }
    clearTimeout(timer);
    if (isUnderWay(mailing)) timer = setTimeout(() => read(mailing.id), POLL_MS);
    else if (channelFigures(mailing).some((c) => c.waiting > 0)) timer = setTimeout(() => read(mailing.id), SETTLE_MS);
  }

  function progressView(first) {
    const id = first.id;
    const heading = h('h2', null, t('mailings.progressTitle', { id }));
    const title = h('p', { class: 'mailing-title' });
    const status = h('p', { class: 'mailing-status', 'aria-live': 'polite' });
    const fill = h('div', { class: 'bar-fill' });
    const barEl = h(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-label': t('mailings.writtenLabel'),
        'aria-valuemin': 0,
        'aria-valuemax': 100,
      },
      fill,
    );
    const barText = h('span', { 'data-testid': 'mailing-written' });
    const facts = h('dl', { class: 'facts' });
    const channels = h('div', { class: 'mailing-channels-figures' });
    const lost = h('div');
    const actions = h('div', { class: 'actions' });
    const el = h(
      'div',
      { class: 'run-progress', 'data-testid': 'mailing-progress', 'data-mailing-id': id },
      h(
        'div',
        { class: 'card-head' },
        heading,
        h(
          'button',
          {
            type: 'button',
            class: 'secondary small',
            'data-action': 'close-progress',
            onclick: () => {
              stopFollowing();
              const was = openId;
              openId = null;
              view = null;
              progressCard.hidden = true;
              for (const m of list.rows()) if (m.id === was) list.update(m);
            },
          },
          t('common.close'),
        ),
      ),
      title,
      status,
      h(
        'div',
        { class: 'bar-block' },
        h('div', { class: 'bar-label' }, h('span', null, t('mailings.writtenLabel')), barText),
        barEl,
      ),
      facts,
      channels,
      lost,
      actions,
    );
    let shownStatus = null;
    let current = first;

    const cancelButton = h(
      'button',
      { type: 'button', class: 'danger', 'data-action': 'cancel-mailing', onclick: () => cancel() },
      t('mailings.cancel'),
    );
    const refreshButton = h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'data-action': 'refresh-mailing',
        onclick: () => {
          clearTimeout(timer);
          read(id);
        },
      },
      t('mailings.refresh'),
    );

    async function cancel() {
      const sure = await confirmDialog(t('mailings.cancelConfirm', { id, title: titleOf(current) }), {
        confirm: t('mailings.cancel'),
        danger: true,
      });
      if (!sure || stopped) return;
      cancelButton.disabled = true;
      try {
        const mailing = await api(`/mailings/${id}/cancel`, { method: 'POST' });
        if (openId === id) show(mailing);
      } catch (error) {
        // Finished meanwhile (`invalid_state`): say so, and show where it got.
        notify(describe(error), 'error');
        if (openId === id) read(id);
      } finally {
        cancelButton.disabled = false;
      }
    }

    function update(m) {
      current = m;
      replace(lost);
      el.dataset.status = m.status;
      replace(title, textsFor(m.texts, locale).title || '—');
      if (m.status !== shownStatus) {
        shownStatus = m.status;
        replace(status, statusBadge(m.status), ' ', mailingStatusText(m, { timeZone }));
      }
      const percent = mailingPercent(m);
      fill.style.width = `${percent}%`;
      barEl.setAttribute('aria-valuenow', String(percent));
      barText.dataset.written = String(m.written);
      barText.dataset.recipients = String(m.recipients);
      replace(barText, t('mailings.writtenOf', { written: count(m.written), recipients: count(m.recipients) }));
      replace(
        facts,
        fact(t('mailings.reach'), peopleText(m.recipients), 'mailing-recipients'),
        fact(t('mailings.col.channels'), channelsText(m.channels)),
        fact(t('mailings.col.audience'), audienceOf(m)),
        fact(
          m.status === 'scheduled' ? t('mailings.sendsAt') : t('mailings.sentAt'),
          whenIn(m.started_at ?? m.send_at, timeZone),
        ),
        fact(t('mailings.createdAt'), whenIn(m.created_at, timeZone)),
      );
      const rows = channelFigures(m);
      replace(
        channels,
        rows.length
          ? table({
              keep: true,
              rowKey: (r) => r.channel,
              columns: [
                { label: t('mailings.col.channel'), render: (r) => channelWord(r.channel) },
                { label: t('mailings.fig.queued'), numeric: true, render: (r) => count(r.queued) },
                {
                  label: t('mailings.fig.delivered'),
                  numeric: true,
                  render: (r) => h('span', { class: r.delivered ? 'credit' : null }, count(r.delivered)),
                },
                {
                  label: t('mailings.fig.failed'),
                  numeric: true,
                  render: (r) => h('span', { class: r.failed ? 'debit' : null }, count(r.failed)),
                },
                { label: t('mailings.fig.waiting'), numeric: true, render: (r) => count(r.waiting) },
              ],
              rows,
            }).el
          : h('p', { class: 'muted' }, t('mailings.inboxOnly')),
        rows.length ? h('p', { class: 'muted small' }, t('mailings.figuresHint')) : null,
      );
      replace(actions, editor && isUnderWay(m) ? cancelButton : null, refreshButton);
    }

    return {
      id,
      el,
      update,
      lost: (node) => replace(lost, node),
      get status() {
        return shownStatus;
      },
    };
  }

  // --- the page -------------------------------------------------------------------------
  const composer = editor ? composerSection() : null;
  root.append(
    h('h1', null, t('mailings.title')),
    h('p', { class: 'muted' }, t('mailings.intro')),
    composer
      ? composer.el
      : h('p', { class: 'notice notice-info', 'data-testid': 'mailings-read-only' }, t('mailings.readOnly')),
    progressCard,
    h('section', { class: 'card', 'data-testid': 'mailing-list' }, h('h2', null, t('mailings.listTitle')), paged.el),
  );

  return () => {
    stopped = true;
    stopFollowing();
    paged.abort();
    composer?.stop();
  };

  // --- the composer ---------------------------------------------------------------------
  function composerSection() {
    const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
    const el = h(
      'section',
      { class: 'card', 'data-testid': 'mailing-composer' },
      h('h2', null, t('mailings.composerTitle')),
      body,
    );
    let countController = null;
    let recount = null;
    namesLoaded.then(() => {
      if (stopped) return;
      const built = buildComposer();
      countController = built.countController;
      recount = built.recount;
      replace(body, built.el);
    });
    return {
      el,
      stop: () => {
        recount?.cancel();
        countController?.()?.abort();
      },
    };
  }

  function buildComposer() {
    const now = Date.now();
    const today = todayIn(timeZone);

    // The reach: counted again a moment after every change of the segment.
    const reachEl = h('div', { class: 'mailing-reach', 'data-testid': 'mailing-reach', 'data-state': 'counting' });
    let reach = { snapshot: null, recipients: null };
    let controller = null;

    function showReach(state, { recipients = null, error = null } = {}) {
      reachEl.dataset.state = state;
      if (state === 'done') reachEl.dataset.recipients = String(recipients);
      else delete reachEl.dataset.recipients;
      if (state === 'done') {
        replace(
          reachEl,
          h('strong', null, t('mailings.reaches', { people: peopleText(recipients) })),
          recipients === 0 ? h('span', { class: 'muted small' }, t('mailings.reachesNobody')) : null,
        );
      } else if (state === 'invalid') {
        replace(reachEl, h('span', { class: 'muted' }, t('mailings.reachInvalid')));
      } else if (state === 'error') {
        replace(
          reachEl,
          h('span', { class: 'field-error' }, describe(error)),
          h(
            'button',
            { type: 'button', class: 'secondary small', onclick: () => audienceChanged(true) },
            t('common.retry'),
          ),
        );
      } else {
        replace(reachEl, h('span', { class: 'muted' }, t('mailings.counting')));
      }
      updateCost();
    }

    const recount = debounce(async (audience, snapshot) => {
      controller?.abort();
      const mine = new AbortController();
      controller = mine;
      try {
        const { recipients } = await api('/mailings/audience', {
          method: 'POST',
          body: { audience },
          signal: mine.signal,
        });
        if (stopped || reach.snapshot !== snapshot) return;
        reach = { snapshot, recipients };
        showReach('done', { recipients });
      } catch (error) {
        if (error.name === 'AbortError' || stopped || reach.snapshot !== snapshot) return;
        showReach('error', { error });
      }
    }, COUNT_DELAY_MS);

    function audienceChanged(force = false) {
      const { audience, errors } = mailingAudience(f.values());
      if (errors.length) {
        recount.cancel();
        controller?.abort();
        reach = { snapshot: null, recipients: null };
        showReach('invalid');
        return;
      }
      const snapshot = JSON.stringify(audience);
      if (!force && snapshot === reach.snapshot) return;
      reach = { snapshot, recipients: null };
      showReach('counting');
      recount(audience, snapshot);
    }

    // The channels: the inbox always, the others ticked.
    const boxes = {};
    const costEl = h('p', { class: 'mailing-cost', 'data-testid': 'mailing-sms-cost', hidden: true });
    const channelChoice = (channel, { checked = false, disabled = false, label, hint, extra = null }) => {
      const id = uid(`channel-${channel}`);
      const input = h('input', { id, type: 'checkbox', checked, disabled, 'data-channel': channel });
      if (channel !== 'inbox') boxes[channel] = input;
      return h(
        'div',
        { class: 'mailing-channel', 'data-channel': channel },
        h('div', { class: 'choice' }, input, h('label', { for: id }, label)),
        h('div', { class: 'hint' }, hint),
        extra,
      );
    };
    const channelsControl = {
      el: h(
        'div',
        { class: 'choices mailing-channels', role: 'group', 'aria-label': t('mailings.channels'), tabindex: -1 },
        channelChoice('inbox', {
          checked: true,
          disabled: true,
          label: t('mailings.channel.inboxAlways'),
          hint: t('mailings.channelHint.inbox'),
        }),
        CHANNELS.map((c) =>
          channelChoice(c, {
            label: channelWord(c),
            hint: CHANNEL_HINTS[c](),
            extra: c === 'sms' ? costEl : null,
          }),
        ),
      ),
      value: () => CHANNELS.filter((c) => boxes[c].checked),
    };

    const f = form({
      className: 'form-wide mailing-form',
      fields: [
        regionList.length
          ? {
              name: 'audience.regions',
              label: t('mailings.regions'),
              type: 'custom',
              control: checkGroup(
                regionList.map((r) => ({ value: r.id, label: r.name })),
                [],
                { label: t('mailings.regions') },
              ),
            }
          : null,
        levelList.length
          ? {
              name: 'audience.levels',
              label: t('mailings.levels'),
              type: 'custom',
              control: checkGroup(levelList, [], { label: t('mailings.levels') }),
            }
          : null,
        {
          name: 'audience.roles',
          label: t('mailings.roles'),
          type: 'custom',
          control: checkGroup(
            ROLES.map((r) => ({ value: r, label: mailingRoleWord(r) })),
            [],
            { label: t('mailings.roles') },
          ),
        },
        {
          name: 'audience.stores',
          label: t('mailings.stores'),
          hint: t('mailings.storesHint'),
          autocomplete: 'off',
          inputmode: 'numeric',
        },
        {
          name: 'audience.active_since',
          label: t('mailings.activeSince'),
          type: 'date',
          hint: t('mailings.activeSinceHint'),
          attrs: { max: today },
        },
        {
          name: 'audience.inactive_since',
          label: t('mailings.inactiveSince'),
          type: 'date',
          hint: t('mailings.inactiveSinceHint'),
          attrs: { max: today },
        },
        {
          name: 'audience',
          label: t('mailings.reach'),
          type: 'custom',
          control: { el: reachEl, value: () => null },
          hint: t('mailings.audienceHint'),
        },
        {
          name: 'texts.ru.title',
          label: t('mailings.ruTitle'),
          required: true,
          attrs: { maxlength: LIMITS.title, lang: 'ru' },
        },
        {
          name: 'texts.ru.body',
          label: t('mailings.ruBody'),
          type: 'textarea',
          rows: 5,
          required: true,
          hint: t('mailings.bodyHint', { max: count(LIMITS.body) }),
          attrs: { maxlength: LIMITS.body, lang: 'ru' },
        },
        {
          name: 'texts.en.title',
          label: t('mailings.enTitle'),
          hint: t('mailings.enHint'),
          attrs: { maxlength: LIMITS.title, lang: 'en' },
        },
        {
          name: 'texts.en.body',
          label: t('mailings.enBody'),
          type: 'textarea',
          rows: 5,
          attrs: { maxlength: LIMITS.body, lang: 'en' },
        },
        { name: 'channels', label: t('mailings.channels'), type: 'custom', control: channelsControl },
        {
          name: 'when',
          label: t('mailings.when'),
          type: 'select',
          value: 'now',
          options: [
            { value: 'now', label: t('mailings.whenNow') },
            { value: 'at', label: t('mailings.whenAt') },
          ],
        },
        {
          name: 'at',
          label: t('mailings.at'),
          type: 'datetime-local',
          value: zonedInput(Math.ceil((now + HOUR) / HOUR) * HOUR, timeZone),
          hint: timeZone ? t('mailings.zoneHint', { zone: timeZone }) : null,
        },
      ].filter(Boolean),
      submit: t('mailings.send'),
      idempotent: true,
      validate: (v) => mailingRequest(v, { timeZone }).errors,
      onSubmit: async (v, { idempotencyKey }) => {
        const { body: request } = mailingRequest(v, { timeZone });
        try {
          // The reach the dialog names: the one on screen when it is this segment's.
          const snapshot = JSON.stringify(request.audience);
          const recipients =
            reach.snapshot === snapshot && reach.recipients !== null
              ? reach.recipients
              : (await api('/mailings/audience', { method: 'POST', body: { audience: request.audience } })).recipients;
          if (!(await confirmSend(request, recipients))) return null;
          return await api('/mailings', { method: 'POST', body: request, idempotencyKey });
        } catch (error) {
          error.errors = (error.errors ?? []).map((e) => ({ ...e, field: mailingErrorField(e) }));
          throw error;
        }
      },
      onSuccess: (mailing) => {
        if (!mailing) return; // not confirmed
        notify(
          mailing.status === 'scheduled' && mailing.send_at > Date.now() + 5000
            ? t('mailings.scheduledToast', { id: mailing.id, when: whenIn(mailing.send_at, timeZone) })
            : t('mailings.sentToast', { id: mailing.id, people: peopleText(mailing.recipients) }),
          'success',
        );
        // Sent: the texts are cleared, so pressing "Send" again cannot send it twice.
        for (const name of ['texts.ru.title', 'texts.ru.body', 'texts.en.title', 'texts.en.body']) f.setValue(name, '');
        updatePreview();
        open(mailing.id, mailing);
      },
    });
    f.el.dataset.testid = 'mailing-form';

    // The fields in three groups: who, what (beside its preview), how and when.
    const fields = (...names) => names.map((name) => f.field(name)).filter(Boolean);
    const group = (legend, ...children) =>
      h('fieldset', { class: 'mailing-part' }, h('legend', null, legend), children);
    const preview = phonePreview();
    const who = group(
      t('mailings.partWho'),
      fields('audience.regions', 'audience.levels', 'audience.roles'),
      h('div', { class: 'form-grid' }, fields('audience.stores', 'audience.active_since', 'audience.inactive_since')),
      fields('audience'),
    );
    const what = group(
      t('mailings.partWhat'),
      h(
        'div',
        { class: 'mailing-compose' },
        h(
          'div',
          { class: 'mailing-texts' },
          fields('texts.ru.title', 'texts.ru.body', 'texts.en.title', 'texts.en.body'),
        ),
        preview.el,
      ),
    );
    const how = group(
      t('mailings.partHow'),
      fields('channels'),
      h('div', { class: 'form-grid' }, fields('when', 'at')),
    );
    f.el.prepend(who, what, how);

    who.addEventListener('input', () => audienceChanged());
    who.addEventListener('change', () => audienceChanged());
    what.addEventListener('input', updatePreview);
    how.addEventListener('change', updatePreview);
    const choice = f.input('when');
    const sync = () => {
      f.field('at').hidden = choice.value !== 'at';
      f.button.textContent = choice.value === 'at' ? t('mailings.scheduleButton') : t('mailings.send');
    };
    choice.addEventListener('change', sync);
    sync();

    function currentTexts() {
      const v = f.values();
      const own = (lang) => ({ title: v[`texts.${lang}.title`] ?? '', body: v[`texts.${lang}.body`] ?? '' });
      const en = own('en');
      return { ru: own('ru'), ...(en.title || en.body ? { en } : {}) };
    }

    /** The SMS line under its channel: what it costs for the reach on screen. */
    function updateCost() {
      const sms = boxes.sms?.checked;
      costEl.hidden = !sms;
      if (!sms) return;
      const parts = smsPerPerson(currentTexts());
      const people = reach.recipients;
      replace(
        costEl,
        parts && people !== null
          ? t('mailings.smsCost', { parts: count(parts), total: count(parts * people), people: peopleText(people) })
          : t('mailings.smsCostUnknown'),
      );
    }

    function updatePreview() {
      preview.update(currentTexts(), { sms: boxes.sms.checked, push: boxes.push.checked });
      updateCost();
    }

    updatePreview();
    audienceChanged();
    return { el: f.el, recount, countController: () => controller };
  }

  /** The phone: the push banner, the inbox message and the SMS, in either language. */
  function phonePreview() {
    let lang = locale === 'en' ? 'en' : 'ru';
    let last = { texts: {}, channels: {} };
    const langButtons = ['ru', 'en'].map((l) =>
      h(
        'button',
        {
          type: 'button',
          lang: l,
          'data-preview-lang': l,
          onclick: () => {
            lang = l;
            render();
          },
        },
        l.toUpperCase(),
      ),
    );
    const note = h('p', { class: 'muted small mailing-preview-note' });
    const push = h('div', { class: 'phone-push', 'data-testid': 'preview-push' });
    const inbox = h('div', { class: 'phone-inbox', 'data-testid': 'preview-inbox' });
    const sms = h('div', { class: 'phone-sms', 'data-testid': 'preview-sms' });
    const smsCount = h('p', { class: 'phone-sms-count' });
    const smsBlock = h('div', { class: 'phone-sms-block' }, sms, smsCount);
    const el = h(
      'aside',
      { class: 'mailing-preview', 'aria-label': t('mailings.preview') },
      h(
        'div',
        { class: 'mailing-preview-head' },
        h('span', null, t('mailings.preview')),
        h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('mailings.previewLang') }, langButtons),
      ),
      h(
        'div',
        { class: 'phone' },
        h(
          'div',
          { class: 'phone-screen' },
          h('div', { class: 'phone-bar' }, h('span', null, t('app.name')), h('span', null, '9:41')),
          push,
          inbox,
          smsBlock,
        ),
      ),
      note,
    );

    function render() {
      const { texts, channels } = last;
      for (const b of langButtons) b.setAttribute('aria-pressed', String(b.dataset.previewLang === lang));
      const own = texts[lang];
      const shown = textsFor(texts, lang);
      const title = shown.title.trim();
      const body = shown.body.trim();
      replace(note, lang === 'en' && !own ? t('mailings.previewNoEn') : '');
      const titleNode = title
        ? h('strong', { class: 'phone-title' }, title)
        : h('strong', { class: 'phone-title muted' }, t('mailings.previewTitle'));
      const bodyParas = paragraphs(body);
      push.hidden = !channels.push;
      replace(
        push,
        h('span', { class: 'phone-app' }, t('app.name')),
        titleNode.cloneNode(true),
        h('span', { class: 'phone-push-body' }, body || t('mailings.previewBody')),
      );
      replace(
        inbox,
        h('span', { class: 'phone-app' }, t('mailings.channel.inbox')),
        titleNode,
        bodyParas.length
          ? bodyParas.map((p) => h('p', null, p))
          : h('p', { class: 'muted' }, t('mailings.previewBody')),
      );
      smsBlock.hidden = !channels.sms;
      const text = smsText(shown);
      const parts = smsParts(text);
      replace(sms, text || t('mailings.previewBody'));
      replace(smsCount, t('mailings.smsParts', { chars: count(parts.chars), parts: count(parts.parts) }));
    }

    return {
      el,
      update(texts, channels) {
        last = { texts, channels };
        render();
      },
    };
  }

  /** The confirmation: the reach, the channels, when, and what SMS cost. Resolves true to send. */
  function confirmSend(request, recipients) {
    return new Promise((resolve) => {
      let answer = false;
      const sms = request.channels.includes('sms');
      const parts = smsPerPerson(request.texts);
      openDialog({
        title: request.send_at ? t('mailings.confirmScheduleTitle') : t('mailings.confirmTitle'),
        onClose: () => resolve(answer),
        content: (close) =>
          h(
            'div',
            { 'data-testid': 'mailing-confirm', 'data-recipients': recipients },
            h(
              'p',
              { class: 'mailing-confirm-reach' },
              h('strong', null, t('mailings.confirmReach', { people: peopleText(recipients) })),
            ),
            h(
              'dl',
              { class: 'facts' },
              fact(t('mailings.col.channels'), channelsText(request.channels), 'confirm-channels'),
              fact(t('mailings.col.audience'), mailingAudienceText(request.audience, names)),
              fact(
                t('mailings.when'),
                request.send_at
                  ? t('mailings.atZone', { when: whenIn(request.send_at, timeZone), zone: timeZone ?? '' })
                  : t('mailings.whenNow'),
                'confirm-when',
              ),
              fact(t('mailings.ruTitle'), request.texts.ru.title),
            ),
            sms
              ? h(
                  'p',
                  { class: 'notice', 'data-testid': 'confirm-sms' },
                  t('mailings.confirmSms', {
                    parts: count(parts),
                    total: count(parts * recipients),
                  }),
                )
              : null,
            recipients === 0
              ? h('p', { class: 'notice', 'data-testid': 'confirm-nobody' }, t('mailings.confirmNobody'))
              : null,
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                {
                  type: 'button',
                  'data-action': 'confirm-send',
                  onclick: () => {
                    answer = true;
                    close();
                  },
                },
                request.send_at ? t('mailings.schedule') : t('mailings.sendNow'),
              ),
              h('button', { type: 'button', class: 'secondary', onclick: close }, t('common.cancel')),
            ),
          ),
      });
    });
  }
}
