// The program's rules (active participants), sized for a phone: the text the program
// keeps (`getProgramRules`), plain, as paragraphs, with when it last changed.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { when } from '../format.js';
import { problemBox } from '../components/problem.js';
import { prose, paragraphs } from '../components/content.js';

export function mount(root) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('common.loading')));
  root.append(h('h1', null, t('rules.title')), body);
  const controller = new AbortController();

  async function load() {
    try {
      const rules = await api('/program/rules', { signal: controller.signal });
      replace(
        body,
        paragraphs(rules.text).length
          ? h(
              'article',
              { class: 'card rules', 'data-testid': 'rules' },
              rules.updated_at
                ? h('p', { class: 'muted small' }, t('rules.updated', { when: when(rules.updated_at) }))
                : null,
              prose(rules.text),
            )
          : h('p', { class: 'muted', 'data-testid': 'rules-empty' }, t('rules.empty')),
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
