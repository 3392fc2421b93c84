// The ledger check: proves the program's books (balances sum to zero, every balance
// equals its postings, nobody below zero, no idempotency key twice) on demand.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { points, count, clock, isZero } from '../format.js';
import { problemBox } from '../components/problem.js';

export function mount(root) {
  const result = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', onclick: run }, t('ledger.run'));
  root.append(
    h('h1', null, t('ledger.title')),
    h(
      'section',
      { class: 'card' },
      h('p', { class: 'muted' }, t('ledger.intro')),
      h('div', { class: 'actions' }, button),
      result,
    ),
  );

  async function run() {
    button.disabled = true;
    replace(result, h('p', { class: 'muted' }, t('ledger.running')));
    try {
      const c = await api('/ledger/check');
      replace(
        result,
        h(
          'p',
          { class: c.sound ? 'verdict ok' : 'verdict bad', 'data-testid': 'ledger-verdict' },
          c.sound ? t('ledger.sound') : t('ledger.unsound'),
        ),
        h(
          'dl',
          { class: 'facts' },
          fact(t('ledger.accounts'), count(c.accounts)),
          fact(t('ledger.postings'), count(c.postings)),
          fact(t('ledger.sum'), points(c.balance_sum), !isZero(c.balance_sum)),
          fact(t('ledger.mismatched'), count(c.mismatched_accounts), c.mismatched_accounts > 0),
          fact(t('ledger.negative'), count(c.negative_participants), c.negative_participants > 0),
          fact(t('ledger.duplicates'), count(c.duplicate_keys), c.duplicate_keys > 0),
          fact(t('ledger.checkedAt'), clock(Date.now())),
        ),
      );
    } catch (error) {
      replace(result, problemBox(error));
    } finally {
      button.disabled = false;
    }
  }
  run();
}

function fact(label, value, bad = false) {
  return h('div', { class: bad ? 'bad' : null }, h('dt', null, label), h('dd', null, value));
}
