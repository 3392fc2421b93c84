// The inbox (active participants), sized for a phone: their messages newest first
// (`listMyNotifications` in the page's language, paged), unread ones marked, how many
// are unread, and "mark all read" (`markNotificationsRead`). Opening a message marks it
// read and follows it where it leads (an order to /orders, a task to /tasks, points to
// /seller); one that leads nowhere is just marked read. New messages (`notification`
// on `me`, through the header's bell) appear at the top without a reload.

import { h, replace } from '../dom.js';
import { t, tn, locale } from '../i18n.js';
import { api } from '../api.js';
import { when } from '../format.js';
import { cardList } from '../components/cards.js';
import { pagedList } from '../components/paging.js';
import { notify } from '../components/toast.js';
import { describe } from '../components/problem.js';
import { onInbox, setUnread } from '../components/inbox-bell.js';
import { inboxLink } from '../components/content.js';

export function mount(root, { navigate }) {
  const summary = h('p', { class: 'inbox-unread', 'data-testid': 'inbox-unread', 'aria-live': 'polite' });
  const showUnread = (n) => {
    summary.dataset.unread = String(n);
    replace(summary, n ? tn('inbox.unread', n) : t('inbox.allRead'));
    markAll.disabled = n === 0;
  };

  async function markRead(item) {
    if (item.read) return;
    const answer = await api('/me/notifications/read', { method: 'POST', body: { ids: [item.id] } });
    list.update({ ...item, read: true });
    setUnread(answer.unread);
  }

  async function open(item) {
    const link = inboxLink(item);
    try {
      await markRead(item);
    } catch (error) {
      if (!link) notify(describe(error), 'error');
    }
    if (link) navigate(link);
  }

  function render(item) {
    const link = inboxLink(item);
    const content = [
      h('span', { class: 'inbox-title' }, item.title),
      item.body ? h('span', { class: 'inbox-body' }, item.body) : null,
      h('span', { class: 'inbox-when muted small' }, when(item.created_at)),
    ];
    const onclick = (event) => {
      event.preventDefault();
      open(item);
    };
    return h(
      'article',
      {
        class: item.read ? 'card inbox-item' : 'card inbox-item unread',
        'data-id': item.id,
        'data-trigger': item.trigger,
        'data-read': String(item.read),
      },
      item.read ? null : h('span', { class: 'badge unread-mark' }, t('inbox.new')),
      link
        ? h('a', { class: 'inbox-open', href: link, onclick }, content)
        : item.read
          ? h('div', { class: 'inbox-open' }, content)
          : h('button', { type: 'button', class: 'inbox-open', onclick, title: t('inbox.markOne') }, content),
    );
  }

  const list = cardList({
    render,
    className: 'inbox-list',
    empty: t('inbox.empty'),
  });
  const paged = pagedList({
    list,
    fetchPage: async (cursor, signal) => {
      const page = await api('/me/notifications', { signal, query: { cursor, limit: 20, lang: locale } });
      setUnread(page.unread);
      return page;
    },
  });

  const markAll = h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      'data-action': 'mark-all-read',
      disabled: true,
      onclick: async () => {
        markAll.disabled = true;
        try {
          const answer = await api('/me/notifications/read', { method: 'POST', body: {} });
          list.setRows(list.rows().map((item) => ({ ...item, read: true })));
          setUnread(answer.unread);
          notify(t('inbox.allMarked'), 'success');
        } catch (error) {
          notify(describe(error), 'error');
          markAll.disabled = false;
        }
      },
    },
    t('inbox.markAll'),
  );

  root.append(
    h('h1', null, t('inbox.title')),
    h('div', { class: 'page-head' }, summary, markAll),
    h('section', { class: 'inbox', 'data-testid': 'inbox', 'aria-label': t('inbox.title') }, paged.el),
  );

  const stop = onInbox((event) => {
    if (event.type === 'unread') showUnread(event.unread);
    else if (event.type === 'new') list.setRows([event.item, ...list.rows().filter((i) => i.id !== event.item.id)]);
  });

  return () => {
    stop();
    paged.abort();
  };
}
