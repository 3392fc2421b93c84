// One held moderation item as a card: what to check (the `summary`: a registration's
// person and store, later receipts and task answers with photos), how long the lease
// has left, and the three decisions. Photos come through `photoGallery`; `dispose()`
// frees them.

import { h, replace } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { when, duration } from '../format.js';
import { photoGallery } from './photos.js';

const SHA256 = /^[0-9a-f]{64}$/i;

/** Every photo hash anywhere in a summary, whatever shape a kind gives it. */
function photoHashes(value, found = new Set()) {
  if (typeof value === 'string' && SHA256.test(value)) found.add(value.toLowerCase());
  else if (Array.isArray(value)) value.forEach((v) => photoHashes(v, found));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => photoHashes(v, found));
  return [...found];
}

/** A registration: the person, their store, and a group's members. */
function registrationSummary(s) {
  const store = s.store ?? {};
  return [
    h(
      'dl',
      { class: 'facts' },
      fact(t('mod.applicant'), s.name),
      fact(t('people.phone'), s.phone),
      fact(t('mod.registration'), tOr(`mod.reg.${s.kind}`, s.kind)),
      fact(t('people.store'), [store.name, store.address].filter(Boolean).join(', ')),
    ),
    s.members?.length
      ? h(
          'div',
          null,
          h('h4', null, t('mod.members', { n: s.members.length })),
          h(
            'ul',
            { class: 'members' },
            s.members.map((m) => h('li', null, `${m.name} · ${m.phone}`)),
          ),
        )
      : null,
  ];
}

/** Any other kind: its fields as label/value pairs (values as text, never markup). */
function genericSummary(summary) {
  const entries = Object.entries(summary ?? {}).filter(
    ([, v]) =>
      !(typeof v === 'string' && SHA256.test(v)) &&
      !(Array.isArray(v) && v.every((x) => typeof x === 'string' && SHA256.test(x))),
  );
  return h(
    'dl',
    { class: 'facts' },
    entries.map(([key, value]) =>
      fact(
        tOr(`mod.field.${key}`, key),
        typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value),
      ),
    ),
  );
}

function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value ?? '—'));
}

/**
 * Builds the card. `onDecide(item, decision, { reason, comment })` sends the decision;
 * `reasons()` gives the rejection reasons (they may arrive after the first items). Returns { el, item, openPanel(kind), decide,
 * setBusy, showError, dispose }.
 */
export function moderationItem(item, { reasons, onDecide }) {
  const photos = photoGallery(photoHashes(item.summary), { alt: t('mod.photo'), missing: t('mod.photoMissing') });

  const status = h('div', { class: 'item-status', 'aria-live': 'polite' });
  const panel = h('div', { class: 'decide-panel' });
  const buttons = [
    h(
      'button',
      { type: 'button', 'data-decision': 'approve', onclick: () => decide('approve') },
      t('mod.approve'),
      h('kbd', null, 'A'),
    ),
    h(
      'button',
      { type: 'button', class: 'danger', 'data-decision': 'reject', onclick: () => openPanel('reject') },
      t('mod.reject'),
      h('kbd', null, 'R'),
    ),
    h(
      'button',
      { type: 'button', class: 'secondary', 'data-decision': 'rework', onclick: () => openPanel('rework') },
      t('mod.rework'),
      h('kbd', null, 'W'),
    ),
  ];
  const lease = h('span', { class: 'lease' });
  const el = h(
    'article',
    {
      class: 'card item',
      tabindex: '0',
      'data-item': item.id,
      'aria-label': t('mod.itemLabel', { kind: tOr(`mod.kind.${item.kind}`, item.kind), id: item.id }),
    },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'badge' }, tOr(`mod.kind.${item.kind}`, item.kind)),
      h('span', { class: 'muted small' }, `#${item.id} · ${t('mod.submitted', { when: when(item.created_at) })}`),
      lease,
    ),
    item.kind === 'registration' ? registrationSummary(item.summary ?? {}) : genericSummary(item.summary),
    photos.el.childElementCount ? photos.el : null,
    h('div', { class: 'actions' }, buttons),
    panel,
    status,
  );

  function decide(decision, extra = {}) {
    setBusy(true);
    replace(status, t('mod.sending'));
    onDecide(item, decision, extra);
  }

  /** The reject panel (a reason and an optional comment) or the rework panel (a comment). */
  function openPanel(kind) {
    const id = `p-${item.id}`;
    const comment = h('textarea', { id: `${id}-c`, rows: 2, required: kind === 'rework' });
    const reason =
      kind === 'reject'
        ? h(
            'select',
            { id: `${id}-r` },
            reasons().map((r) => h('option', { value: r.code }, r.title)),
          )
        : null;
    const send = () => {
      if (kind === 'rework' && !comment.value.trim()) {
        replace(status, h('span', { class: 'field-error' }, t('mod.commentRequired')));
        comment.focus();
        return;
      }
      decide(kind, { reason: reason?.value ?? null, comment: comment.value.trim() || null });
    };
    replace(
      panel,
      h(
        'form',
        {
          class: 'form inline-form',
          onsubmit: (e) => {
            e.preventDefault();
            send();
          },
          onkeydown: (e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              replace(panel);
              el.focus();
            }
          },
        },
        reason ? h('div', { class: 'field' }, h('label', { for: reason.id }, t('mod.reason')), reason) : null,
        h(
          'div',
          { class: 'field' },
          h('label', { for: comment.id }, kind === 'rework' ? t('mod.reworkComment') : t('mod.comment')),
          comment,
        ),
        h(
          'div',
          { class: 'actions' },
          h(
            'button',
            { type: 'submit', class: kind === 'reject' ? 'danger' : null },
            kind === 'reject' ? t('mod.confirmReject') : t('mod.confirmRework'),
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                replace(panel);
                el.focus();
              },
            },
            t('common.cancel'),
          ),
        ),
      ),
    );
    (reason ?? comment).focus();
  }

  function setBusy(busy) {
    for (const b of buttons) b.disabled = busy;
    panel.querySelectorAll('button').forEach((b) => {
      b.disabled = busy;
    });
  }

  return {
    el,
    item,
    decide,
    openPanel,
    setBusy,
    showError(message) {
      setBusy(false);
      replace(status, h('span', { class: 'field-error', role: 'alert' }, message));
    },
    showDone(decision) {
      el.classList.add('decided');
      replace(panel);
      replace(status, h('strong', null, t(`mod.done.${decision}`)));
    },
    /** Seconds left on the lease, for the countdown. */
    tick(now) {
      if (!item.lease_expires_at) return;
      const left = item.lease_expires_at - now;
      lease.textContent = t('mod.leaseLeft', { left: duration(left) });
      lease.classList.toggle('lease-short', left < 60_000);
    },
    dispose() {
      photos.dispose();
    },
  };
}
