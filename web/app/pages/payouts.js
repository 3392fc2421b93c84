// Payouts to a bank card (active participants): the program's rules with what is left
// of the limits today and this month (`getPayoutRules`); my cards (`listPayoutCards`)
// and a form to add one (`addPayoutCard`: the number is sent once and kept nowhere, not
// in storage and not in the page: the field is cleared as it is sent); a payout request
// (`requestPayout`: one Idempotency-Key per attempt, the same key when the same request
// is sent again after a lost answer, so it is made once); my payouts (`listMyPayouts`,
// paged as every list). `payout_status` on `me` says a payout moved: the list and the
// limits are asked again. The balance is live on `me`.

import { h, replace, uid, debounce } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { api } from '../api.js';
import { when, toCents } from '../format.js';
import * as live from '../live.js';
import { balanceStrip } from '../components/standing.js';
import { table } from '../components/table.js';
import { pagedList } from '../components/paging.js';
import { form } from '../components/form.js';
import { problemBox } from '../components/problem.js';
import { notify } from '../components/toast.js';
import { pointsText } from '../components/rewards.js';

/** What a card number may look like before it is sent: digits, spaces and dashes. */
const CARD_NUMBER = /^\d{13,19}$/;

/** "427600******1234" → "4276 00** **** 1234", the way a card is printed. */
export function cardText(masked) {
  return String(masked ?? '').replace(/(.{4})(?=.)/g, '$1\u00a0');
}

export function payoutStatusLabel(status) {
  return tOr(`payout.status.${status}`, status);
}

function payoutStatusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, payoutStatusLabel(status));
}

/** Hundredths → "12.50", to show an amount computed here with `pointsText`. */
function fromCents(cents) {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

export function mount(root, { me }) {
  const controller = new AbortController();
  const { signal } = controller;
  let available = me.balance?.available ?? null;
  let rules = null;
  let cards = [];
  let cardsLoaded = false;

  const balance = balanceStrip();
  balance.update(me);

  // ---- rules ----------------------------------------------------------------------
  const rulesBody = h('div', { 'data-testid': 'payout-rules' }, h('p', { class: 'muted' }, t('common.loading')));

  function fact(label, value, key) {
    return h('div', null, h('dt', null, label), h('dd', { 'data-rule': key }, pointsText(value)));
  }

  function renderRules() {
    replace(
      rulesBody,
      h(
        'dl',
        { class: 'facts' },
        fact(t('payouts.minimum'), rules.minimum, 'minimum'),
        fact(t('payouts.leftToday'), rules.left_today, 'left_today'),
        fact(t('payouts.leftMonth'), rules.left_this_month, 'left_this_month'),
        fact(t('payouts.perDay'), rules.per_day, 'per_day'),
        fact(t('payouts.perMonth'), rules.per_month, 'per_month'),
      ),
    );
  }

  async function loadRules() {
    try {
      rules = await api('/me/payout-rules', { signal });
      renderRules();
    } catch (error) {
      if (error.name === 'AbortError') return;
      // Limits already shown stay; the server checks them again on every request.
      if (!rules) replace(rulesBody, problemBox(error));
    }
    amountHint();
  }

  // ---- the request ----------------------------------------------------------------
  const needCard = h('p', { class: 'muted', 'data-testid': 'need-card' }, t('payouts.needCard'));
  const request = form({
    fields: [
      { name: 'card_id', label: t('payouts.card'), type: 'select', required: true, options: [] },
      // The hint is filled in from the rules and the balance (`amountHint`).
      { name: 'amount', label: t('payouts.amount'), type: 'amount', required: true, hint: '\u00a0' },
    ],
    submit: t('payouts.submit'),
    idempotent: true,
    validate: (v) =>
      rules && toCents(v.amount) < toCents(rules.minimum)
        ? [{ field: 'amount', message: t('payouts.amountMin', { min: pointsText(rules.minimum) }) }]
        : [],
    onSubmit: (v, { idempotencyKey }) =>
      api('/payouts', {
        method: 'POST',
        idempotencyKey,
        body: { card_id: Number(v.card_id), amount: v.amount },
      }),
    onSuccess: (payout) => {
      notify(t('payouts.requested', { id: payout.id, amount: pointsText(payout.amount) }), 'success');
      request.setValue('amount', '');
      payouts.reload();
      loadRules();
    },
  });
  const hintEl = request.field('amount').querySelector('.hint');

  /** "At least 500.00; at most N now": N is the least of the balance and what the limits leave. */
  function amountHint() {
    if (!rules) {
      hintEl.textContent = '';
      return;
    }
    let most = null;
    for (const value of [available, rules.left_today, rules.left_this_month]) {
      if (value === null || value === undefined) continue;
      const cents = toCents(value);
      if (most === null || cents < most) most = cents;
    }
    hintEl.textContent =
      most === null
        ? t('payouts.amountMin', { min: pointsText(rules.minimum) })
        : t('payouts.amountHint', {
            min: pointsText(rules.minimum),
            max: pointsText(fromCents(most < 0n ? 0n : most)),
          });
  }

  function renderRequest() {
    const chosen = request.values().card_id;
    request.setOptions(
      'card_id',
      cards.map((c) => ({ value: c.id, label: cardText(c.masked) })),
      chosen || cards[cards.length - 1]?.id,
    );
    // Until the cards are known, the form stays (it cannot be sent without a card).
    needCard.hidden = !cardsLoaded || cards.length > 0;
    request.el.hidden = cardsLoaded && cards.length === 0;
  }

  // ---- cards ----------------------------------------------------------------------
  const cardsBody = h('div', { 'data-testid': 'payout-cards' }, h('p', { class: 'muted' }, t('common.loading')));

  function renderCards() {
    replace(
      cardsBody,
      cards.length
        ? h(
            'ul',
            { class: 'payout-cards' },
            cards.map((c) =>
              h(
                'li',
                { 'data-card-id': c.id },
                h('span', { class: 'mono', 'data-masked': c.masked }, cardText(c.masked)),
                h('span', { class: 'muted small' }, t('payouts.cardSince', { when: when(c.created_at) })),
              ),
            ),
          )
        : h('p', { class: 'muted', 'data-testid': 'no-cards' }, t('payouts.noCards')),
    );
    renderRequest();
  }

  async function loadCards() {
    try {
      const answer = await api('/me/payout-cards', { signal });
      // A list of cards (older servers wrap it as `{items}`).
      cards = Array.isArray(answer) ? answer : (answer?.items ?? []);
      cardsLoaded = true;
      renderCards();
    } catch (error) {
      if (error.name === 'AbortError') return;
      replace(cardsBody, problemBox(error));
      renderRequest();
    }
  }

  // The card number: typed, sent once, cleared at once. It is never put in storage,
  // never echoed in a message, and not kept in a variable past the call.
  const numberId = uid('card-number');
  const numberInput = h('input', {
    id: numberId,
    name: 'number',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    maxlength: 23,
    'aria-required': 'true',
    'aria-describedby': `${numberId}-hint ${numberId}-msg`,
  });
  const numberMsg = h('div', { class: 'field-error', id: `${numberId}-msg`, 'aria-live': 'polite' });
  const cardAlert = h('div', { class: 'form-alert', tabindex: -1 });
  const addButton = h('button', { type: 'submit' }, t('payouts.addCard'));
  const cardForm = h(
    'form',
    {
      class: 'form card-form',
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        addCard();
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { for: numberId }, t('payouts.number'), h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      numberInput,
      h('div', { class: 'hint', id: `${numberId}-hint` }, t('payouts.numberHint')),
      numberMsg,
    ),
    cardAlert,
    h('div', { class: 'actions' }, addButton),
  );

  function cardProblem(error, { cleared }) {
    const unclaimed = [];
    for (const e of error.errors ?? []) {
      if (e.field === 'number') numberMsg.textContent = e.message;
      else unclaimed.push(e);
    }
    if (numberMsg.textContent) numberInput.setAttribute('aria-invalid', 'true');
    replace(
      cardAlert,
      problemBox(error, { unclaimed }),
      cleared ? h('p', { class: 'hint' }, t('payouts.numberCleared')) : null,
    );
    (numberMsg.textContent ? numberInput : cardAlert).focus();
  }

  async function addCard() {
    if (addButton.disabled) return;
    replace(cardAlert);
    numberMsg.textContent = '';
    numberInput.removeAttribute('aria-invalid');
    const typed = numberInput.value.trim();
    if (!CARD_NUMBER.test(typed.replace(/[\s-]/g, ''))) {
      // Nothing was sent: the field keeps what was typed, to be corrected.
      const message = typed ? t('payouts.numberFormat') : t('form.required');
      cardProblem({ detail: t('form.fix'), errors: [{ field: 'number', message }] }, { cleared: false });
      return;
    }
    numberInput.value = '';
    addButton.disabled = true;
    addButton.textContent = t('payouts.adding');
    cardForm.setAttribute('aria-busy', 'true');
    try {
      const card = await api('/me/payout-cards', { method: 'POST', body: { number: typed } });
      cards = [...cards.filter((c) => c.id !== card.id), card];
      cardsLoaded = true;
      renderCards();
      request.setValue('card_id', String(card.id)); // the new card is the one to pay to
      notify(t('payouts.cardAdded', { card: cardText(card.masked) }), 'success');
    } catch (error) {
      cardProblem(error, { cleared: true });
    } finally {
      addButton.disabled = false;
      addButton.textContent = t('payouts.addCard');
      cardForm.removeAttribute('aria-busy');
    }
  }

  // ---- my payouts -----------------------------------------------------------------
  const list = table({
    empty: t('payouts.none'),
    columns: [
      { label: '#', numeric: true, render: (p) => h('span', { 'data-payout-id': p.id }, String(p.id)) },
      { label: t('payouts.when'), render: (p) => when(p.created_at) },
      { label: t('payouts.card'), render: (p) => h('span', { class: 'mono' }, cardText(p.card)) },
      { label: t('payouts.amount'), numeric: true, render: (p) => pointsText(p.amount) },
      {
        label: t('payouts.status'),
        render: (p) => [
          payoutStatusBadge(p.status),
          p.failure_reason && ['rejected', 'failed'].includes(p.status)
            ? h('div', { class: 'small debit' }, t('payouts.failure', { reason: p.failure_reason }))
            : null,
        ],
      },
      { label: t('payouts.updated'), wide: true, render: (p) => when(p.updated_at) },
    ],
  });
  const payouts = pagedList({
    list,
    fetchPage: (cursor, pageSignal) => api('/me/payouts', { signal: pageSignal, query: { cursor, limit: 50 } }),
  });

  // ---- live -----------------------------------------------------------------------
  // A burst of events (several payouts decided at once) asks once.
  const refetch = debounce(() => {
    payouts.reload();
    loadRules();
  }, 300);

  function balanceChanged(view) {
    balance.update(view);
    const next = view?.balance?.available;
    if (next === undefined || next === available) return;
    available = next;
    amountHint();
  }

  let snapshots = 0;
  const stop = live.subscribe('me', (frame) => {
    if (frame.type === 'snapshot') {
      balanceChanged(frame.data);
      // A later snapshot follows a reconnect or a gap: events may have been missed.
      if (snapshots++ > 0) refetch();
    } else if (frame.type === 'event' && frame.event === 'balance_changed') {
      balanceChanged(frame.data);
    } else if (frame.type === 'event' && frame.event === 'payout_status') {
      const { payout_id: id, status, failure_reason: reason } = frame.data;
      const known = list.rows().find((p) => p.id === id);
      if (known?.status !== status) {
        const text = t('payouts.changed', { id, status: payoutStatusLabel(status) });
        const bad = status === 'rejected' || status === 'failed';
        notify(reason && bad ? `${text}. ${t('payouts.failure', { reason })}` : text, bad ? 'error' : 'success');
      }
      refetch();
    }
  });

  // ---- the page -------------------------------------------------------------------
  root.append(
    h('h1', null, t('payouts.title')),
    h('p', { class: 'muted' }, t('payouts.intro')),
    balance.el,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'payout-rules-title' },
      h('h2', { id: 'payout-rules-title' }, t('payouts.rules')),
      rulesBody,
    ),
    h(
      'div',
      { class: 'payout-layout' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'payout-request-title' },
        h('h2', { id: 'payout-request-title' }, t('payouts.request')),
        needCard,
        request.el,
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'payout-cards-title' },
        h('h2', { id: 'payout-cards-title' }, t('payouts.cards')),
        cardsBody,
        cardForm,
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'payout-list-title' },
      h('h2', { id: 'payout-list-title' }, t('payouts.history')),
      payouts.el,
    ),
  );
  renderRequest();
  loadRules();
  loadCards();

  return () => {
    stop();
    refetch.cancel();
    controller.abort();
    payouts.abort();
    numberInput.value = '';
  };
}
