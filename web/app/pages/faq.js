// Questions and answers (active participants), sized for a phone: the program's FAQ in
// its order (`listFaq`), each question folding open to its answer (plain text as
// paragraphs).

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { problemBox } from '../components/problem.js';
import { prose } from '../components/content.js';

export function mount(root) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('common.loading')));
  root.append(h('h1', null, t('faq.title')), body);
  const controller = new AbortController();

  async function load() {
    try {
      const entries = await api('/faq', { signal: controller.signal });
      replace(
        body,
        entries.length
          ? h(
              'div',
              { class: 'faq', 'data-testid': 'faq' },
              entries.map((entry) =>
                h(
                  'details',
                  { class: 'card faq-entry', 'data-id': entry.id },
                  h('summary', null, entry.question),
                  prose(entry.answer),
                ),
              ),
            )
          : h('p', { class: 'muted', 'data-testid': 'faq-empty' }, t('faq.empty')),
      );
    } catch (error) {
      if (error.name === 'AbortError') return;
      replace(
        body,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
      );
    }
  }
  load();
  return () => controller.abort();
}
