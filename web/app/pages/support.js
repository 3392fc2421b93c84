// The participant's support page. `/support`: a new request (subject, message, an
// optional photo; one Idempotency-Key per attempt, reused on a retry after a lost
// answer) and my requests, paged, with their status and the newest message.
// `/support/:id`: one request as a chat (mine right, support's left; photos open full
// size), a reply box and "close". Support's answers arrive live (`support_reply` on
// `me`, followed by the shell): in the open thread at once, elsewhere as a toast.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api, uploadBody } from '../api.js';
import { form } from '../components/form.js';
import { pagedList } from '../components/paging.js';
import { cardList } from '../components/cards.js';
import { photoPicker } from '../components/photos.js';
import { problemBox } from '../components/problem.js';
import { confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import { onSupportFrame } from '../components/support-live.js';
import { chatThread, lastLine, requestFacts, requestHead, statusBadge, withMessage } from '../components/support.js';

const PAGE = 20;

export function mount(root, ctx) {
  return ctx.params.id ? threadPage(root, ctx) : listPage(root, ctx);
}

/** My requests and the form of a new one. */
function listPage(root, { navigate }) {
  let loaded = false;
  const list = cardList({
    render: requestCard,
    className: 'support-list',
    empty: t('support.none'),
  });
  const paged = pagedList({
    list,
    fetchPage: async (cursor, signal) => {
      const page = await api('/me/support/requests', { signal, query: { cursor, limit: PAGE } });
      loaded = true;
      return page;
    },
  });

  const picker = photoPicker();
  const newForm = form({
    className: 'support-form',
    fields: [
      {
        name: 'subject',
        label: t('support.subject'),
        required: true,
        hint: t('support.subjectHint'),
        attrs: { maxlength: 200, enterkeyhint: 'next' },
      },
      { name: 'text', label: t('support.text'), type: 'textarea', required: true, rows: 5, attrs: { maxlength: 5000 } },
      { name: 'photo', label: t('support.photo'), type: 'custom', control: picker, hint: t('support.photoHint') },
    ],
    submit: t('support.send'),
    // A fresh key per attempt; a retry after a lost answer reuses it (the form keeps it).
    idempotent: true,
    onSubmit: (v, { idempotencyKey }) => {
      const data = { subject: v.subject, text: v.text };
      const [photo] = v.photo;
      return api('/support/requests', {
        method: 'POST',
        body: photo ? uploadBody(data, { photo }) : data,
        idempotencyKey,
      }).catch((error) => {
        // The upload's checks name the part `photos`: the error goes under the photo.
        for (const e of error.errors ?? []) if (e.field === 'photos') e.field = 'photo';
        throw error;
      });
    },
    onSuccess: (request) => {
      notify(t('support.sent', { id: request.id }), 'success');
      picker.clear();
      navigate(`/support/${request.id}`);
    },
  });

  root.append(
    h('h1', null, t('support.title')),
    h('p', { class: 'muted' }, t('support.intro')),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'support-new' },
      h('h2', { id: 'support-new' }, t('support.new')),
      newForm.el,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'support-mine', 'data-testid': 'support-requests' },
      h('h2', { id: 'support-mine' }, t('support.mine')),
      paged.el,
    ),
  );

  // An answer moves its request's line; the toast says it too (the shell shows it).
  const stop = onSupportFrame((frame) => {
    // Back after a break (a fresh snapshot): answers may have been missed.
    if (frame.type === 'snapshot') {
      if (loaded) paged.reload();
    } else if (frame.type === 'event' && frame.event === 'support_reply') {
      const request = list.rows().find((r) => r.id === frame.data.request_id);
      if (request) {
        list.update(withMessage(request, frame.data.message, frame.data.status));
        list.node(request.id)?.classList.add('flash');
      }
    }
    return false;
  });

  return () => {
    stop();
    paged.abort();
  };
}

/** One request in my list: a link to its thread. */
function requestCard(request) {
  return h(
    'a',
    {
      class: 'card support-row',
      href: `/support/${request.id}`,
      'data-request-id': request.id,
      'data-status': request.status,
    },
    h(
      'span',
      { class: 'support-row-head' },
      h('strong', { class: 'support-subject' }, request.subject),
      statusBadge(request.status),
    ),
    h('span', { class: 'support-preview' }, lastLine(request)),
    h('span', { class: 'muted small' }, t('support.number', { id: request.id }), ' · ', requestFacts(request)),
  );
}

/** One request as a chat, with a reply box and "close". */
function threadPage(root, { params }) {
  const id = Number(params.id);
  const heading = h('h1', null, t('support.number', { id }));
  const head = h('div', { class: 'support-thread-head' });
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  root.append(h('p', null, h('a', { href: '/support', class: 'back-link' }, t('support.back'))), heading, head, body);

  const chat = chatThread({ staff: false });
  const note = h('div');
  const closeButton = h(
    'button',
    { type: 'button', class: 'secondary', 'data-action': 'close-request', onclick: closeRequest },
    t('support.close'),
  );
  let request = null;
  let disposed = false;

  const replyForm = form({
    className: 'support-reply',
    fields: [
      {
        name: 'text',
        label: t('support.reply'),
        type: 'textarea',
        required: true,
        rows: 3,
        attrs: { maxlength: 5000, enterkeyhint: 'send' },
      },
    ],
    submit: t('support.send'),
    extra: closeButton,
    onSubmit: (v) => api(`/support/requests/${id}/replies`, { method: 'POST', body: { text: v.text } }),
    onSuccess: (answer) => {
      replyForm.setValue('text', '');
      show(answer, { scroll: true });
    },
  });

  function show(next, { scroll = false } = {}) {
    request = next;
    replace(heading, next.subject);
    document.title = `${next.subject} · ${t('app.name')}`;
    replace(head, requestHead(next));
    chat.show(next, { scroll });
    closeButton.hidden = next.status === 'closed';
    replace(note, next.status === 'closed' ? h('p', { class: 'notice' }, t('support.closedNote')) : null);
  }

  async function load() {
    try {
      const fresh = await api(`/support/requests/${id}`);
      if (disposed) return;
      if (!request)
        replace(
          body,
          h('section', { class: 'card support-thread' }, chat.el),
          note,
          h('section', { class: 'card' }, replyForm.el),
        );
      show(fresh, { scroll: !request });
    } catch (error) {
      if (disposed) return;
      if (!request) replace(body, problemBox(error), h('button', { type: 'button', onclick: load }, t('common.retry')));
      else notify(t('support.reloadFailed'), 'error');
    }
  }

  async function closeRequest() {
    if (!(await confirmDialog(t('support.closeConfirm'), { confirm: t('support.close') }))) return;
    closeButton.disabled = true;
    try {
      show(await api(`/support/requests/${id}/close`, { method: 'POST' }));
      notify(t('support.closed'), 'success');
    } catch (error) {
      replyForm.showProblem(error);
    } finally {
      closeButton.disabled = false;
    }
  }

  const stop = onSupportFrame((frame) => {
    if (frame.type === 'snapshot') {
      if (request) load(); // back after a break: an answer may have been missed
      return false;
    }
    if (frame.type !== 'event' || frame.event !== 'support_reply' || frame.data.request_id !== id) return false;
    if (request) show(withMessage(request, frame.data.message, frame.data.status), { scroll: true });
    else load();
    return true;
  });

  load();
  return () => {
    disposed = true;
    stop();
    chat.dispose();
  };
}
