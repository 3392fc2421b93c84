// The rewards showcase (`listRewards`) and the cart. A participant filters by category
// and kind, or shows only what their points pay for; each reward goes into the cart,
// which lives in sessionStorage (it survives a reload, not the tab) with a quantity per
// line and, for a reward sold by amount, the chosen amount within its bounds. Checkout
// (`placeOrder`) sends one Idempotency-Key per attempt: when the answer is lost, a retry
// of the same cart reuses it (the key is kept with the cart), so the order is placed
// once. Goods and merch need a delivery address. When the cart costs more than the
// available points, the program takes card payments (`card_payments` of `getProgram`)
// and some points are there, the rest may be paid by card (`pay_shortfall`): the order
// then waits in `awaiting_payment`, and the answer's payment page is offered before
// going on to the orders. The balance is live on `me`.

import { h, replace, debounce } from '../dom.js';
import { t, tn } from '../i18n.js';
import { api, newIdempotencyKey } from '../api.js';
import { points, toCents, parseAmount, count } from '../format.js';
import * as live from '../live.js';
import { balanceStrip } from '../components/standing.js';
import { filterBar } from '../components/filters.js';
import { pagedList } from '../components/paging.js';
import { cardList } from '../components/cards.js';
import { problemBox } from '../components/problem.js';
import { photoGallery } from '../components/photos.js';
import { notify } from '../components/toast.js';
import { openDialog } from '../components/dialog.js';
import { paymentBlock } from '../components/orders.js';
import {
  KINDS,
  SHIPPED,
  kindBadge,
  kindLabel,
  priceText,
  pointsText,
  moneyText,
  chosenAmount,
} from '../components/rewards.js';

/** Most units of one reward in one line (the server's limit). */
const MAX_QUANTITY = 100;
/** Payouts to a card are requested elsewhere; the showcase never offers them. */
const SHOWN_KINDS = KINDS.filter((k) => k !== 'card_payout');

/** Hundredths → "12.50" (for the arithmetic of totals, then `points()` to show). */
function fromCents(cents) {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/**
 * The cart of this tab: lines, delivery, whether a shortfall is paid by card, and a
 * checkout whose outcome is unknown.
 */
function cartStore(userId) {
  const key = `stimul.cart.${userId}`;
  let state = { lines: [], delivery: {}, payShortfall: false, pending: null };
  try {
    state = { ...state, ...JSON.parse(sessionStorage.getItem(key) ?? '{}') };
  } catch {
    // A broken entry starts an empty cart.
  }
  return {
    state: () => state,
    save: () => sessionStorage.setItem(key, JSON.stringify(state)),
    clear() {
      state = { lines: [], delivery: state.delivery, payShortfall: false, pending: null };
      sessionStorage.setItem(key, JSON.stringify(state));
    },
  };
}

/** The part of a reward the cart keeps. */
function cartReward(r) {
  return {
    id: r.id,
    title: r.title,
    kind: r.kind,
    price: r.price ?? null,
    min_amount: r.min_amount ?? null,
    max_amount: r.max_amount ?? null,
    stock: r.stock ?? null,
  };
}

/** A line's checks: { quantity, amount } messages, or nulls; and its total in hundredths. */
function checkLine(line) {
  const r = line.reward;
  const errors = { quantity: null, amount: null };
  const max = r.stock === null ? MAX_QUANTITY : Math.min(MAX_QUANTITY, r.stock);
  const q = /^[1-9]\d*$/.test(String(line.quantity).trim()) ? Number(line.quantity) : null;
  if (q === null || q > max) errors.quantity = t('cart.quantityRange', { max: count(Math.max(max, 1)) });
  let unit = null;
  if (chosenAmount(r)) {
    const amount = parseAmount(line.amount);
    const cents = amount === null ? null : toCents(amount);
    if (cents === null || cents < toCents(r.min_amount) || cents > toCents(r.max_amount)) {
      errors.amount = t('cart.amountWrong'); // the bounds are in the field's hint
    } else unit = cents;
  } else {
    unit = toCents(r.price);
  }
  const total = unit !== null && q !== null && !errors.quantity ? unit * BigInt(q) : null;
  return { errors, total, quantity: q, amount: chosenAmount(r) ? parseAmount(line.amount) : null };
}

export function mount(root, { me, navigate }) {
  const cart = cartStore(me.id);
  let available = me.balance?.available ?? null;
  let cardPayments = false; // whether the program takes card payments (`getProgram`)
  let closePayment = null; // the payment dialog after a checkout, while open
  let leaving = false;
  const galleries = new Map(); // reward id → its picture (blob URLs to free)

  const balance = balanceStrip();
  balance.update(me);

  // ---- the showcase ---------------------------------------------------------------
  const filters = filterBar({
    controls: [
      { name: 'category', label: t('rewards.category'), type: 'select', options: [{ value: '', label: t('common.all') }] },
      {
        name: 'kind',
        label: t('rewards.kind'),
        type: 'select',
        options: [{ value: '', label: t('common.all') }, ...SHOWN_KINDS.map((k) => ({ value: k, label: kindLabel(k) }))],
      },
      { name: 'affordable', label: t('rewards.affordable'), type: 'checkbox' },
    ],
    onChange: () => paged.reload(),
  });

  const showcase = cardList({ render: rewardCard, empty: t('rewards.none'), className: 'reward-grid' });
  const paged = pagedList({
    list: showcase,
    fetchPage: (cursor, signal) => api('/rewards', { signal, query: { ...filters.values(), cursor, limit: 24 } }),
  });

  function affordable(r) {
    const cheapest = r.price ?? r.min_amount;
    if (available === null || !cheapest) return r.affordable !== false;
    return toCents(available) >= toCents(cheapest);
  }

  function inCart(id) {
    return cart.state().lines.find((l) => l.reward.id === id);
  }

  function rewardCard(r) {
    const soldOut = r.stock === 0;
    const line = inCart(r.id);
    let picture = null;
    if (r.picture) {
      const gallery = photoGallery([r.picture], { alt: r.title });
      galleries.get(r.id)?.dispose();
      galleries.set(r.id, gallery);
      picture = h('div', { class: 'reward-picture' }, gallery.el);
    }
    return h(
      'article',
      { class: 'card reward', 'data-reward-id': r.id, 'data-kind': r.kind },
      picture,
      h('div', { class: 'reward-kind' }, kindBadge(r.kind)),
      h('h3', null, r.title),
      r.network || r.category
        ? h('p', { class: 'muted small reward-facts' }, [r.network, r.category].filter(Boolean).join(' · '))
        : null,
      r.description ? h('p', { class: 'reward-description' }, r.description) : null,
      h(
        'div',
        { class: 'reward-foot' },
        h('div', { class: 'reward-price' }, priceText(r)),
        r.stock !== null && r.stock !== undefined
          ? h(
              'div',
              { class: soldOut ? 'small debit' : 'small muted' },
              soldOut ? t('rewards.soldOut') : tn('rewards.stockLeft', r.stock, { n: count(r.stock) }),
            )
          : null,
        !soldOut && !affordable(r) ? h('div', { class: 'small muted reward-dear' }, t('rewards.tooDear')) : null,
        h(
          'div',
          { class: 'actions' },
          h(
            'button',
            { type: 'button', class: 'small', disabled: soldOut, 'data-action': 'add', onclick: () => add(r) },
            t('rewards.add'),
          ),
          line ? h('span', { class: 'small muted' }, t('rewards.inCart', { n: count(line.quantity) })) : null,
        ),
      ),
    );
  }

  function refreshCard(id) {
    const r = showcase.rows().find((row) => row.id === id);
    if (r) showcase.update(r);
  }

  // ---- the cart -------------------------------------------------------------------
  const cartBody = h('div', { class: 'cart-body' });
  // Announced when it changes: adding from a card far down the showcase is heard.
  const cartCount = h('span', { class: 'muted small', 'data-testid': 'cart-count', 'aria-live': 'polite' });
  const cartEl = h(
    'section',
    { class: 'card cart', id: 'cart', 'aria-labelledby': 'cart-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'cart-title' }, t('cart.title')), cartCount),
    cartBody,
  );
  // Field messages by the API's own names (`items[0].amount`, `delivery.address`).
  let messages = new Map();
  let inputs = new Map();
  const alert = h('div', { class: 'form-alert', tabindex: -1 });
  const totalEl = h('strong', { class: 'num cart-total', 'data-testid': 'cart-total' });
  const shortEl = h('p', { class: 'small debit' });
  // Paying the shortfall by card: offered only when it applies (`renderTotals`).
  const payCardId = 'cart-pay-card';
  const payCardBox = h('input', {
    id: payCardId,
    type: 'checkbox',
    name: 'pay_shortfall',
    'aria-describedby': `${payCardId}-hint`,
    onchange: () => {
      cart.state().payShortfall = payCardBox.checked;
      cart.save();
    },
  });
  const payCardLabel = h('label', { for: payCardId });
  const payCardHint = h('div', { class: 'hint', id: `${payCardId}-hint` });
  const payCard = h(
    'div',
    { class: 'field field-check cart-card', hidden: true, 'data-testid': 'pay-shortfall' },
    payCardBox,
    payCardLabel,
    payCardHint,
  );
  const checkoutButton = h(
    'button',
    { type: 'button', 'data-action': 'checkout', onclick: () => checkout() },
    t('cart.checkout'),
  );
  let busy = false;

  function add(r) {
    const state = cart.state();
    const line = inCart(r.id);
    if (line && !chosenAmount(r)) {
      const q = Number(line.quantity) || 0;
      line.quantity = String(Math.min(q + 1, MAX_QUANTITY));
      line.reward = cartReward(r);
    } else if (!line) {
      state.lines.push({
        reward: cartReward(r),
        quantity: '1',
        amount: chosenAmount(r) ? String(r.min_amount) : '',
      });
    }
    cart.save();
    renderCart();
    refreshCard(r.id);
  }

  function remove(index) {
    const [line] = cart.state().lines.splice(index, 1);
    cart.save();
    renderCart();
    if (line) refreshCard(line.reward.id);
  }

  function message(name) {
    const el = h('div', { class: 'field-error', 'aria-live': 'polite' });
    messages.set(name, el);
    return el;
  }

  function lineRow(line, index) {
    const r = line.reward;
    const qId = `cart-q-${index}`;
    const aId = `cart-a-${index}`;
    const quantity = h('input', {
      id: qId,
      name: `items[${index}].quantity`,
      type: 'number',
      inputmode: 'numeric',
      min: 1,
      max: r.stock === null ? MAX_QUANTITY : Math.min(MAX_QUANTITY, r.stock),
      step: 1,
      value: line.quantity,
      'aria-describedby': `${qId}-msg`,
      oninput: () => {
        line.quantity = quantity.value;
        cart.save();
        renderTotals();
      },
      onchange: () => refreshCard(r.id),
    });
    inputs.set(`items[${index}].quantity`, quantity);
    const qMsg = message(`items[${index}].quantity`);
    qMsg.id = `${qId}-msg`;
    let amountField = null;
    if (chosenAmount(r)) {
      const amount = h('input', {
        id: aId,
        name: `items[${index}].amount`,
        type: 'text',
        inputmode: 'decimal',
        value: line.amount,
        'aria-describedby': `${aId}-msg ${aId}-hint`,
        oninput: () => {
          line.amount = amount.value;
          cart.save();
          renderTotals();
        },
      });
      inputs.set(`items[${index}].amount`, amount);
      const aMsg = message(`items[${index}].amount`);
      aMsg.id = `${aId}-msg`;
      amountField = h(
        'div',
        { class: 'field cart-amount' },
        h('label', { for: aId }, t('cart.amount')),
        amount,
        h('div', { class: 'hint', id: `${aId}-hint` }, t('cart.amountRange', { min: points(r.min_amount), max: points(r.max_amount) })),
        aMsg,
      );
    }
    const lineTotal = h('span', { class: 'num cart-line-total', 'data-line': index });
    return h(
      'li',
      { class: 'cart-line', 'data-reward-id': r.id },
      h(
        'div',
        { class: 'cart-line-head' },
        h('div', null, h('strong', null, r.title), ' ', kindBadge(r.kind)),
        h(
          'button',
          {
            type: 'button',
            class: 'icon',
            'aria-label': t('cart.remove', { title: r.title }),
            onclick: () => remove(index),
          },
          '\u00d7',
        ),
      ),
      h('div', { class: 'muted small' }, priceText(r)),
      h(
        'div',
        { class: 'cart-line-fields' },
        h('div', { class: 'field cart-quantity' }, h('label', { for: qId }, t('cart.quantity')), quantity, qMsg),
        amountField,
        lineTotal,
      ),
      message(`items[${index}].reward_id`),
    );
  }

  function deliveryField(name, label, { required = false, type = 'text', autocomplete, hint } = {}) {
    const id = `cart-d-${name}`;
    const input = h(
      type === 'textarea' ? 'textarea' : 'input',
      {
        id,
        name: `delivery.${name}`,
        type: type === 'textarea' ? null : type,
        rows: type === 'textarea' ? 2 : null,
        autocomplete,
        value: cart.state().delivery?.[name] ?? '',
        'aria-required': required ? 'true' : null,
        'aria-describedby': `${id}-msg`,
        oninput: () => {
          cart.state().delivery = { ...cart.state().delivery, [name]: input.value };
          cart.save();
        },
      },
    );
    inputs.set(`delivery.${name}`, input);
    const msg = message(`delivery.${name}`);
    msg.id = `${id}-msg`;
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
      input,
      hint ? h('div', { class: 'hint' }, hint) : null,
      msg,
    );
  }

  /** What the cart needs besides its lines: an address for goods, a phone for a top-up. */
  function needs() {
    const kinds = new Set(cart.state().lines.map((l) => l.reward.kind));
    return { ship: [...kinds].some((k) => SHIPPED.has(k)), topup: kinds.has('phone_topup') };
  }

  function renderCart() {
    messages = new Map();
    inputs = new Map();
    const { lines } = cart.state();
    replace(cartCount, lines.length ? tn('cart.count', lines.length, { n: count(lines.length) }) : '');
    if (!lines.length) {
      replace(cartBody, h('p', { class: 'muted' }, t('cart.empty')));
      return;
    }
    const { ship, topup } = needs();
    let delivery = null;
    if (ship) {
      if (!cart.state().delivery?.name && !cart.state().delivery?.phone) {
        // Start from the participant's own name and phone.
        cart.state().delivery = { ...cart.state().delivery, name: me.name ?? '', phone: me.phone ?? '' };
        cart.save();
      }
      delivery = h(
        'fieldset',
        { class: 'cart-delivery' },
        h('legend', null, t('cart.delivery')),
        h('p', { class: 'hint' }, t('cart.deliveryHint')),
        deliveryField('name', t('cart.name'), { required: true, autocomplete: 'name' }),
        deliveryField('phone', t('cart.phone'), { required: true, type: 'tel', autocomplete: 'tel' }),
        deliveryField('address', t('cart.address'), { required: true, type: 'textarea', autocomplete: 'street-address' }),
        deliveryField('comment', t('cart.comment'), { type: 'textarea' }),
      );
    } else if (topup) {
      delivery = h(
        'fieldset',
        { class: 'cart-delivery' },
        h('legend', null, t('kind.phone_topup')),
        deliveryField('phone', t('cart.phone'), { type: 'tel', autocomplete: 'tel', hint: t('cart.topupHint') }),
      );
    }
    replace(
      cartBody,
      h('ul', { class: 'cart-lines' }, lines.map(lineRow)),
      message('items'),
      h('div', { class: 'cart-sum' }, h('span', null, t('cart.total')), totalEl),
      shortEl,
      payCard,
      delivery,
      alert,
      h('div', { class: 'actions' }, checkoutButton),
    );
    renderTotals();
  }

  /**
   * The cart's sum in hundredths (null while a line is incomplete), what the points
   * leave uncovered, and whether paying that by card is offered: only when the program
   * takes card payments and some points are there to pay the rest.
   */
  function totals() {
    let sum = 0n;
    let complete = true;
    for (const line of cart.state().lines) {
      const { total } = checkLine(line);
      if (total === null) complete = false;
      else sum += total;
    }
    if (!complete) return { sum: null, short: 0n, byCard: false };
    const have = available === null ? null : toCents(available);
    const short = have === null ? 0n : sum - have;
    return { sum, short, byCard: cardPayments && short > 0n && have > 0n };
  }

  function renderTotals() {
    cart.state().lines.forEach((line, index) => {
      const { total } = checkLine(line);
      const cell = cartBody.querySelector(`[data-line="${index}"]`);
      if (cell) cell.textContent = total === null ? t('common.none') : points(fromCents(total));
    });
    const { sum, short, byCard } = totals();
    totalEl.textContent = sum === null ? t('common.none') : pointsText(fromCents(sum));
    shortEl.textContent =
      short > 0n ? t('cart.short', { available: pointsText(available), missing: pointsText(fromCents(short)) }) : '';
    shortEl.hidden = short <= 0n;
    payCard.hidden = !byCard;
    if (byCard) {
      payCardBox.checked = Boolean(cart.state().payShortfall);
      payCardLabel.textContent = t('cart.payByCard', { n: moneyText(fromCents(short)) });
      payCardHint.textContent = t('cart.payByCardHint', {
        points: pointsText(available),
        card: moneyText(fromCents(short)),
      });
    }
  }

  function clearErrors() {
    replace(alert);
    for (const el of messages.values()) el.textContent = '';
    for (const input of inputs.values()) input.removeAttribute('aria-invalid');
  }

  /** Field errors next to their fields; the rest, with the problem, above the button. */
  function showProblem(error, extra = null) {
    clearErrors();
    const unclaimed = [];
    for (const e of error.errors ?? []) {
      const el = messages.get(e.field);
      if (el) {
        el.textContent = e.message;
        inputs.get(e.field)?.setAttribute('aria-invalid', 'true');
      } else {
        const line = /^items\[(\d+)\]/.exec(e.field);
        unclaimed.push(line ? { field: t('cart.line', { n: Number(line[1]) + 1 }), message: e.message } : e);
      }
    }
    replace(alert, problemBox(error, { unclaimed }), extra);
    const first = [...inputs.values()].find((i) => i.getAttribute('aria-invalid'));
    (first ?? alert).focus();
  }

  function requestBody() {
    const { lines, delivery = {} } = cart.state();
    const { ship, topup } = needs();
    const items = lines.map((line) => {
      const { quantity, amount } = checkLine(line);
      const item = { reward_id: line.reward.id, quantity };
      if (chosenAmount(line.reward)) item.amount = amount;
      return item;
    });
    const value = (name) => (delivery[name] ?? '').trim() || null;
    let sent = null;
    if (ship) sent = { name: value('name'), phone: value('phone'), address: value('address'), comment: value('comment') };
    else if (topup && value('phone')) sent = { phone: value('phone') };
    const body = sent ? { items, delivery: sent } : { items };
    // Only when it is offered and ticked: a cart the points cover is paid with points.
    if (cart.state().payShortfall && totals().byCard) body.pay_shortfall = true;
    return body;
  }

  function validate() {
    const errors = [];
    cart.state().lines.forEach((line, index) => {
      const { errors: e } = checkLine(line);
      if (e.quantity) errors.push({ field: `items[${index}].quantity`, message: e.quantity });
      if (e.amount) errors.push({ field: `items[${index}].amount`, message: e.amount });
    });
    if (needs().ship) {
      const delivery = cart.state().delivery ?? {};
      for (const name of ['name', 'phone', 'address']) {
        if (!(delivery[name] ?? '').trim()) errors.push({ field: `delivery.${name}`, message: t('form.required') });
      }
    }
    return errors;
  }

  async function checkout() {
    if (busy || !cart.state().lines.length) return;
    clearErrors();
    const errors = validate();
    if (errors.length) {
      showProblem({ detail: t('form.fix'), errors });
      return;
    }
    const body = requestBody();
    const snapshot = JSON.stringify(body);
    const state = cart.state();
    // One key per attempt; the same cart after a lost answer is the same attempt.
    if (state.pending?.snapshot !== snapshot) state.pending = { key: newIdempotencyKey(), snapshot };
    cart.save();
    busy = true;
    checkoutButton.disabled = true;
    checkoutButton.textContent = t('cart.placing');
    cartEl.setAttribute('aria-busy', 'true');
    try {
      const order = await api('/orders', { method: 'POST', body, idempotencyKey: state.pending.key });
      const ids = state.lines.map((l) => l.reward.id);
      cart.clear();
      ids.forEach(refreshCard);
      if (order.status === 'awaiting_payment' && order.payment) {
        notify(t('cart.awaitingPayment', { id: order.id, amount: moneyText(order.payment.amount) }), 'success');
        renderCart();
        showPayment(order);
      } else {
        notify(t('cart.placed', { id: order.id, total: pointsText(order.total) }), 'success');
        navigate(`/orders?placed=${order.id}`);
      }
    } catch (error) {
      // A refusal settles the attempt; a lost answer (network, server error, the same
      // request still running) leaves it open, so the next press reuses the key.
      const unknown = error.code === 'network' || error.code === 'request_in_progress' || error.status >= 500;
      if (!unknown) state.pending = null;
      cart.save();
      showProblem(error, unknown ? h('p', { class: 'hint' }, t('cart.retryHint')) : null);
      // Stock or offers changed: show the showcase as it is now.
      if (['out_of_stock', 'reward_unavailable'].includes(error.code)) paged.reload();
    } finally {
      busy = false;
      checkoutButton.disabled = false;
      checkoutButton.textContent = t('cart.checkout');
      cartEl.removeAttribute('aria-busy');
    }
  }

  /**
   * An order waiting for its card payment: what points and the card pay, until when it
   * waits, and the payment page (a new tab) when the provider has given one. Closing
   * goes on to the orders, as after any checkout.
   */
  function showPayment(order) {
    closePayment = openDialog({
      title: t('payment.title', { id: order.id }),
      content: (close) =>
        h(
          'div',
          { class: 'order payment-notice', 'data-testid': 'payment-notice', 'data-order-id': order.id },
          paymentBlock(order),
          order.payment.confirmation_url ? null : h('p', { class: 'muted' }, t('payment.noLink')),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              { type: 'button', class: 'secondary', 'data-action': 'to-orders', onclick: close },
              t('payment.toOrders'),
            ),
          ),
        ),
      onClose: () => {
        closePayment = null;
        if (!leaving) navigate(`/orders?placed=${order.id}`);
      },
    });
  }

  // ---- the page -------------------------------------------------------------------
  root.append(
    h('h1', null, t('rewards.title')),
    balance.el,
    h(
      'div',
      { class: 'shop' },
      cartEl,
      h('section', { class: 'shop-main', 'aria-label': t('rewards.title') }, filters.el, paged.el),
    ),
  );
  renderCart();

  const controller = new AbortController();
  api('/program', { signal: controller.signal })
    .then((program) => {
      cardPayments = program?.card_payments === true;
      renderTotals();
    })
    .catch(() => {}); // no card payments offered: the points pay, or the server says they are short
  api('/rewards/categories', { signal: controller.signal })
    .then((c) =>
      filters.setOptions('category', [
        { value: '', label: t('common.all') },
        ...c.items.map((name) => ({ value: name, label: name })),
      ]),
    )
    .catch(() => {}); // the filter offers "All" only

  // When the points change, what is affordable changes: the cards follow, and the
  // "what I can afford" list is asked again.
  const reloadAffordable = debounce(() => filters.values().affordable && paged.reload(), 800);
  function balanceChanged(view) {
    balance.update(view);
    const next = view?.balance?.available ?? available;
    if (next === available) return;
    available = next;
    showcase.rows().forEach((r) => showcase.update(r));
    renderTotals();
    reloadAffordable();
  }
  const stop = live.subscribe('me', (frame) => {
    if (frame.type === 'snapshot') balanceChanged(frame.data);
    else if (frame.type === 'event' && frame.event === 'balance_changed') balanceChanged(frame.data);
  });

  return () => {
    leaving = true;
    closePayment?.();
    stop();
    controller.abort();
    paged.abort();
    reloadAffordable.cancel();
    galleries.forEach((g) => g.dispose());
  };
}
