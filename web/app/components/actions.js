// The actions on one participant or one store, shared by the admin lists and the
// detail pages: approve / reject, block / unblock, adjust and award points, connect /
// disconnect / block a store. Each shows only what the person's permissions allow and
// reports back through `onChanged(updated?)` so the caller refreshes its row.

import { h } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { api, newIdempotencyKey } from '../api.js';
import { can, isProgramWide } from '../session.js';
import { points } from '../format.js';
import { form } from './form.js';
import { openDialog, confirmDialog } from './dialog.js';
import { notify } from './toast.js';
import { describe } from './problem.js';

/** A button that runs an async action once at a time and reports failures. */
export function actionButton(label, run, { danger = false, secondary = true, testid } = {}) {
  const button = h(
    'button',
    {
      type: 'button',
      class: ['small', danger ? 'danger' : '', secondary && !danger ? 'secondary' : ''].join(' ').trim(),
      'data-action': testid,
      onclick: async () => {
        button.disabled = true;
        try {
          await run();
        } catch (error) {
          notify(describe(error), 'error');
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
  return button;
}

/** Opens a dialog with a form; the dialog closes when the form succeeds. */
export function formDialog(title, options) {
  let close = null;
  const f = form({
    ...options,
    onSuccess: (result, values) => {
      close();
      options.onSuccess?.(result, values);
    },
  });
  close = openDialog({ title, content: f.el });
  return f;
}

const AWARD_REASONS = ['award', 'welcome', 'referral', 'loyalty', 'bonus'];

/** Buttons for a participant (`Person`). */
export function personActions(person, onChanged) {
  const buttons = [];
  const path = `/participants/${person.id}`;

  if (person.status === 'pending' && can('registrations.edit')) {
    buttons.push(
      actionButton(
        t('people.approve'),
        async () => {
          if (
            !(await confirmDialog(t('people.approveQuestion', { name: person.name }), { confirm: t('people.approve') }))
          )
            return;
          await api(`${path}/approve`, { method: 'POST', idempotencyKey: newIdempotencyKey() });
          notify(t('people.approved', { name: person.name }), 'success');
          onChanged(); // a group's owner brings the store and its sellers with them
        },
        { secondary: false, testid: 'approve' },
      ),
      actionButton(
        t('people.reject'),
        async () => {
          formDialog(t('people.rejectTitle', { name: person.name }), {
            fields: [{ name: 'reason', label: t('people.rejectReason'), type: 'textarea', required: true, rows: 3 }],
            submit: t('people.reject'),
            idempotent: true,
            onSubmit: (v, { idempotencyKey }) =>
              api(`${path}/reject`, { method: 'POST', body: { reason: v.reason }, idempotencyKey }),
            onSuccess: () => onChanged(),
          });
        },
        { danger: true, testid: 'reject' },
      ),
    );
  }

  if (can('points.edit') && person.kind === 'participant' && person.status === 'active') {
    buttons.push(
      actionButton(
        t('points.award'),
        async () => {
          formDialog(t('points.awardTitle', { name: person.name }), {
            fields: [
              {
                name: 'amount',
                label: t('points.amount'),
                type: 'amount',
                required: true,
                hint: t('points.awardHint'),
              },
              {
                name: 'reason',
                label: t('common.reason'),
                type: 'select',
                options: AWARD_REASONS.map((r) => ({ value: r, label: t(`reason.${r}`) })),
              },
              { name: 'comment', label: t('points.comment'), type: 'textarea', required: true, rows: 2 },
              { name: 'hold', label: t('points.hold'), type: 'checkbox' },
            ],
            submit: t('points.award'),
            idempotent: true,
            onSubmit: (v, { idempotencyKey }) =>
              api(`${path}/awards`, {
                method: 'POST',
                idempotencyKey,
                body: { amount: v.amount, comment: v.comment, reason: v.reason, hold: v.hold },
              }),
            onSuccess: (changed) => {
              notify(t('points.awarded', { amount: points(changed.amount), name: person.name }), 'success');
              onChanged();
            },
          });
        },
        { testid: 'award' },
      ),
      actionButton(
        t('points.adjust'),
        async () => {
          formDialog(t('points.adjustTitle', { name: person.name }), {
            fields: [
              {
                name: 'amount',
                label: t('points.amount'),
                type: 'amount',
                required: true,
                allowNegative: true,
                hint: t('points.adjustHint'),
              },
              { name: 'comment', label: t('points.comment'), type: 'textarea', required: true, rows: 2 },
            ],
            submit: t('points.adjust'),
            idempotent: true,
            onSubmit: (v, { idempotencyKey }) =>
              api(`${path}/adjustments`, {
                method: 'POST',
                idempotencyKey,
                body: { amount: v.amount, comment: v.comment },
              }),
            onSuccess: (changed) => {
              notify(
                t('points.adjusted', { amount: points(changed.amount, { signed: true }), name: person.name }),
                'success',
              );
              onChanged();
            },
          });
        },
        { testid: 'adjust' },
      ),
    );
  }
  if (can('participants.edit') && person.status === 'active') {
    buttons.push(
      actionButton(
        t('people.block'),
        async () => {
          formDialog(t('people.blockTitle', { name: person.name }), {
            fields: [{ name: 'reason', label: t('common.reason'), type: 'textarea', rows: 2 }],
            submit: t('people.block'),
            onSubmit: (v) =>
              api(`${path}/status`, { method: 'POST', body: { status: 'blocked', reason: v.reason || null } }),
            onSuccess: (updated) => onChanged(updated),
          });
        },
        { danger: true, testid: 'block' },
      ),
    );
  }
  if (can('participants.edit') && person.status === 'blocked') {
    buttons.push(
      actionButton(
        t('people.unblock'),
        async () => {
          onChanged(await api(`${path}/status`, { method: 'POST', body: { status: 'active' } }));
        },
        { testid: 'unblock' },
      ),
    );
  }

  return h('div', { class: 'row-actions' }, buttons);
}

/** Buttons for a store: the status moves the caller may make. */
export function storeActions(store, onChanged) {
  if (!can('stores.edit') || store.status === 'pending') return h('div', { class: 'row-actions' });
  // Blocking and lifting a block need program-wide store rights.
  const admin = isProgramWide();
  const setStatus = (status, reason = null) =>
    api(`/stores/${store.id}/status`, { method: 'POST', body: { status, reason } });
  const withReason = (title, status, label) =>
    formDialog(title, {
      fields: [{ name: 'reason', label: t('common.reason'), type: 'textarea', rows: 2 }],
      submit: label,
      onSubmit: (v) => setStatus(status, v.reason || null),
      onSuccess: (updated) => onChanged(updated),
    });

  const buttons = [];
  if (store.status !== 'connected' && (store.status !== 'blocked' || admin)) {
    buttons.push(
      actionButton(t('stores.connect'), async () => onChanged(await setStatus('connected')), { testid: 'connect' }),
    );
  }
  if (store.status === 'connected' || (store.status === 'blocked' && admin)) {
    buttons.push(
      actionButton(
        t('stores.disconnect'),
        async () =>
          withReason(t('stores.disconnectTitle', { name: store.name }), 'disconnected', t('stores.disconnect')),
        { testid: 'disconnect' },
      ),
    );
  }
  if (store.status !== 'blocked' && admin) {
    buttons.push(
      actionButton(
        t('stores.block'),
        async () => withReason(t('stores.blockTitle', { name: store.name }), 'blocked', t('stores.block')),
        { danger: true, testid: 'block' },
      ),
    );
  }
  return h('div', { class: 'row-actions' }, buttons);
}

/** A status as a coloured badge. */
export function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, tOr(`status.${status}`, status));
}
