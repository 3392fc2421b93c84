// Placeholder pages for features whose API does not exist yet (product codes, tasks,
// leaderboards are being built on other branches). Replace with the real page when
// the OpenAPI document has the endpoints.

import { h } from '../dom.js';
import { t } from '../i18n.js';

export function mount(root, { data }) {
  root.append(
    h('h1', null, t(`slot.${data.feature}`)),
    h(
      'section',
      { class: 'card notice' },
      h('span', { class: 'badge badge-soon' }, t('soon.badge')),
      h('p', null, t(`slot.${data.feature}Text`)),
      h('p', { class: 'muted' }, t('soon.text')),
    ),
    h('p', null, h('a', { href: '/seller' }, t('soon.back'))),
  );
}
