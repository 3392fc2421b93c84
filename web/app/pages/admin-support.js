// Support requests for support staff (program-wide `support.view`): how many wait
// (the `support` topic's snapshot, moved by its events), the requests by status (those
// waiting for an answer first), and one request's thread beside the list (below it on
// a phone) with the participant linked to their page. With `support.edit`: a reply box
// and "close". Every new request, message or close arrives as `support_request` with
// the whole request (staff's own too): its line and its open thread change in place,
// and a new one joins the list when it has the status shown.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import * as live from '../live.js';
import { count } from '../format.js';
import { form } from '../components/form.js';
import { filterBar } from '../components/filters.js';
import { pagedList } from '../components/paging.js';
import { cardList } from '../components/cards.js';
import { problemBox } from '../components/problem.js';
import { confirmDialog } from '../components/dialog.js';
import { notify } from '../components/toast.js';
import {
  STATUSES,
  statusWord,
  statusBadge,
  lastLine,
  lastMessage,
  requestFacts,
  requestHead,
  chatThread,
  countsAfter,
} from '../components/support.js';

const PAGE = 20;

export function mount(root, { query }) {
  const editable = can('support.edit');
  let filter = 'open';
  let selected = null; // the id whose thread is open
  let thread = null; // { id, show(request), dispose() }
  let counts = null;
  let snapshots = 0;
  // Each request's status as the events since the last snapshot left it: what a
  // count moves from. Unknown requests ask for a fresh snapshot instead.
  const statuses = new Map();

  const countsBody = h('div', { class: 'support-counts' }, h('p', { class: 'muted' }, t('common.loading')));
  const list = cardList({ render: requestRow, className: 'support-list', empty: t('supportAdmin.none') });
  const paged = pagedList({
    list,
    fetchPage: (cursor, signal) => api('/support/requests', { signal, query: { status: filter, cursor, limit: PAGE } }),
  });
  const filters = filterBar({
    controls: [
      {
        name: 'status',
        label: t('supportAdmin.status'),
        type: 'select',
        value: filter,
        options: [...STATUSES.map((s) => ({ value: s, label: statusWord(s) })), { value: '', label: t('common.all') }],
      },
    ],
    onChange: (values) => {
      filter = values.status;
      paged.reload();
    },
  });
  const panel = h(
    'section',
    { class: 'card support-panel', 'aria-label': t('supportAdmin.thread'), 'data-testid': 'support-thread' },
    h('p', { class: 'muted' }, t('supportAdmin.pick')),
  );

  root.append(
    h('h1', null, t('supportAdmin.title')),
    h('section', { class: 'card', 'aria-label': t('supportAdmin.waiting') }, countsBody),
    h(
      'div',
      { class: 'support-layout' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'support-list-title', 'data-testid': 'support-requests' },
        h('h2', { id: 'support-list-title' }, t('supportAdmin.list')),
        filters.el,
        paged.el,
      ),
      panel,
    ),
  );

  function renderCounts() {
    replace(
      countsBody,
      h(
        'dl',
        { class: 'facts' },
        h(
          'div',
          null,
          h('dt', null, t('supportAdmin.countOpen')),
          h('dd', { 'data-testid': 'support-open' }, count(counts.open)),
        ),
        h(
          'div',
          null,
          h('dt', null, t('supportAdmin.countAnswered')),
          h('dd', { 'data-testid': 'support-answered' }, count(counts.answered)),
        ),
      ),
    );
  }

  function requestRow(request) {
    return h(
      'button',
      {
        type: 'button',
        class: 'card support-row',
        'data-request-id': request.id,
        'data-status': request.status,
        'aria-current': request.id === selected ? 'true' : null,
        onclick: () => openThread(request.id),
      },
      h(
        'span',
        { class: 'support-row-head' },
        h('strong', { class: 'support-subject' }, request.subject),
        statusBadge(request.status),
      ),
      h('span', { class: 'support-who' }, request.participant_name),
      h('span', { class: 'support-preview' }, lastLine(request, { staff: true })),
      h('span', { class: 'muted small' }, t('support.number', { id: request.id }), ' · ', requestFacts(request)),
    );
  }

  function markSelected() {
    for (const node of list.el.querySelectorAll('.support-row')) {
      if (Number(node.dataset.requestId) === selected) node.setAttribute('aria-current', 'true');
      else node.removeAttribute('aria-current');
    }
  }

  function openThread(id) {
    if (thread?.id === id) return;
    thread?.dispose();
    selected = id;
    markSelected();
    history.replaceState(null, '', `/admin/support?request=${id}`);
    thread = threadView(id, {
      editable,
      // The answer to a staff action: the line changes at once (its event follows).
      onChange: (request) => list.update(request),
    });
    replace(panel, thread.el);
    if (matchMedia('(max-width: 900px)').matches) panel.scrollIntoView({ block: 'start' });
  }

  // Asks for a fresh snapshot once a burst of events is over (the counts were unknown).
  const freshCounts = debounce(() => live.resubscribe('support'), 300);

  const stop = live.subscribe('support', (frame) => {
    if (frame.type === 'error') {
      replace(countsBody, problemBox({ detail: frame.message, code: frame.code }));
      return;
    }
    if (frame.type === 'snapshot') {
      counts = frame.data;
      statuses.clear();
      renderCounts();
      // Back after a break or a fresh snapshot: events may have been missed.
      if (snapshots++ > 0) {
        paged.reload();
        thread?.reload();
      }
      return;
    }
    if (frame.event !== 'support_request') return;
    const request = frame.data;
    const next = counts ? countsAfter(counts, statuses.get(request.id), request) : null;
    statuses.set(request.id, request.status);
    if (next) {
      counts = next;
      renderCounts();
    } else freshCounts();

    if (list.node(request.id)) list.update(request);
    else if (!filter || filter === request.status) {
      list.append([request]);
      list.el.prepend(list.node(request.id));
    }
    list.node(request.id)?.classList.add('flash');

    if (thread?.id === request.id) thread.show(request);
    else {
      const last = lastMessage(request);
      if (last && !last.from_staff && request.status === 'open') {
        const isNew = request.messages.length === 1;
        notify(
          t(isNew ? 'supportAdmin.newToast' : 'supportAdmin.messageToast', {
            name: request.participant_name,
            subject: request.subject,
          }),
        );
      }
    }
  });

  const asked = Number(query.get('request'));
  if (asked > 0) openThread(asked);

  return () => {
    stop();
    freshCounts.cancel();
    paged.abort();
    thread?.dispose();
  };
}

/** One request's thread for staff: who wrote, the chat, and with `editable` the reply box and "close". */
function threadView(id, { editable, onChange }) {
  const heading = h('h2', { class: 'support-thread-subject' }, t('support.number', { id }));
  const who = h('p', { class: 'support-participant' });
  const head = h('div');
  const chat = chatThread({ staff: true });
  const note = h('div');
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  const el = h('div', { 'data-request-id': id }, heading, who, head, body);
  let request = null;
  let disposed = false;

  const closeButton = h(
    'button',
    { type: 'button', class: 'secondary', 'data-action': 'close-request', onclick: closeRequest },
    t('support.close'),
  );
  const replyForm = editable
    ? form({
        className: 'support-reply',
        fields: [
          {
            name: 'text',
            label: t('supportAdmin.reply'),
            type: 'textarea',
            required: true,
            rows: 4,
            attrs: { maxlength: 5000 },
          },
        ],
        submit: t('supportAdmin.send'),
        extra: closeButton,
        onSubmit: (v) => api(`/support/requests/${id}/replies`, { method: 'POST', body: { text: v.text } }),
        onSuccess: (answer) => {
          replyForm.setValue('text', '');
          show(answer, { scroll: true });
          onChange(answer);
          notify(t('supportAdmin.answered', { name: answer.participant_name }), 'success');
        },
      })
    : null;

  function show(next, { scroll = true } = {}) {
    request = next;
    replace(heading, next.subject);
    replace(
      who,
      t('supportAdmin.from'),
      ' ',
      can('participants.view')
        ? h('a', { href: `/people/${next.participant_id}`, 'data-testid': 'support-person' }, next.participant_name)
        : h('strong', null, next.participant_name),
    );
    replace(head, requestHead(next));
    chat.show(next, { scroll });
    closeButton.hidden = next.status === 'closed';
    replace(note, next.status === 'closed' ? h('p', { class: 'notice' }, t('supportAdmin.closedNote')) : null);
  }

  async function load() {
    try {
      const fresh = await api(`/support/requests/${id}`);
      if (disposed) return;
      if (!request)
        replace(
          body,
          chat.el,
          note,
          replyForm ? replyForm.el : h('p', { class: 'muted small' }, t('supportAdmin.readOnly')),
        );
      show(fresh, { scroll: false });
    } catch (error) {
      if (disposed) return;
      if (!request) replace(body, problemBox(error), h('button', { type: 'button', onclick: load }, t('common.retry')));
    }
  }

  async function closeRequest() {
    if (
      !(await confirmDialog(t('supportAdmin.closeConfirm', { subject: request?.subject ?? '' }), {
        confirm: t('support.close'),
      }))
    )
      return;
    closeButton.disabled = true;
    try {
      const closed = await api(`/support/requests/${id}/close`, { method: 'POST' });
      show(closed);
      onChange(closed);
      notify(t('support.closed'), 'success');
    } catch (error) {
      replyForm?.showProblem(error);
    } finally {
      closeButton.disabled = false;
    }
  }

  load();
  return {
    id,
    el,
    show: (next) => request && show(next),
    reload: load,
    dispose() {
      disposed = true;
      chat.dispose();
    },
  };
}
