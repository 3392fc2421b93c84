// News (active participants), sized for a phone. `/news`: the published news for their
// audience, newest first (`listNews`, paged), each with its date and first lines, the
// unopened ones marked, and how many are unopened. `/news/:id`: one item in full
// (`getNews`, which marks it read), its text as paragraphs, and the way back.

import { h, replace } from '../dom.js';
import { t, tn } from '../i18n.js';
import { api } from '../api.js';
import { date } from '../format.js';
import { cardList } from '../components/cards.js';
import { pagedList } from '../components/paging.js';
import { problemBox } from '../components/problem.js';
import { excerpt, prose } from '../components/content.js';

export function mount(root, ctx) {
  return ctx.params.id ? mountItem(root, ctx.params.id) : mountList(root);
}

function mountList(root) {
  const summary = h('p', { class: 'news-unread', 'data-testid': 'news-unread', 'aria-live': 'polite' });
  const list = cardList({
    className: 'news-list',
    empty: t('news.empty'),
    render: (news) =>
      h(
        'article',
        {
          class: news.read ? 'card news-item' : 'card news-item unread',
          'data-id': news.id,
          'data-read': String(news.read),
        },
        h(
          'h2',
          null,
          news.read ? null : h('span', { class: 'badge unread-mark' }, t('news.new')),
          h('a', { href: `/news/${news.id}`, 'data-news-title': news.title }, news.title),
        ),
        h('p', { class: 'muted small' }, date(news.publish_at)),
        h('p', { class: 'news-excerpt' }, excerpt(news.body)),
      ),
  });
  const paged = pagedList({
    list,
    fetchPage: async (cursor, signal) => {
      const page = await api('/news', { signal, query: { cursor, limit: 20 } });
      summary.dataset.unread = String(page.unread);
      replace(summary, page.unread ? tn('news.unread', page.unread) : t('news.allRead'));
      return page;
    },
  });
  root.append(
    h('h1', null, t('news.title')),
    summary,
    h('section', { 'data-testid': 'news', 'aria-label': t('news.title') }, paged.el),
  );
  return () => paged.abort();
}

function mountItem(root, id) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('common.loading')));
  const heading = h('h1', null, t('news.title'));
  const back = h('p', null, h('a', { href: '/news', 'data-action': 'back-to-news' }, t('news.back')));
  root.append(back, heading, body);
  const controller = new AbortController();

  async function load() {
    try {
      const news = await api(`/news/${encodeURIComponent(id)}`, { signal: controller.signal });
      replace(heading, news.title);
      document.title = `${news.title} · ${t('app.name')}`;
      replace(
        body,
        h(
          'article',
          { class: 'card news-full', 'data-testid': 'news-item', 'data-id': news.id },
          h('p', { class: 'muted small' }, date(news.publish_at)),
          prose(news.body),
        ),
      );
    } catch (error) {
      if (error.name === 'AbortError') return;
      replace(
        body,
        problemBox(error),
        error.status === 404
          ? null
          : h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
      );
    }
  }
  load();
  return () => controller.abort();
}
