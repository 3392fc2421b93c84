// The seller's earning page: register the code from a package (typed, or the QR
// payload a scanner read) and see at once what it paid; report a sale with a receipt
// photo; follow the receipts to their decision. The balance stays live on `me`.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { api, uploadBody } from '../api.js';
import { points } from '../format.js';
import * as live from '../live.js';
import { form } from '../components/form.js';
import { notify } from '../components/toast.js';
import { problemBox } from '../components/problem.js';
import { balanceStrip } from '../components/standing.js';
import { photoPicker } from '../components/photos.js';
import { receiptList } from '../components/receipts.js';
import { loadCampaigns, campaignProducts, productOptions } from '../components/campaigns.js';

/** How many answers of this visit stay on screen (a seller may register a whole box). */
const KEEP_RESULTS = 10;

export function mount(root, { me }) {
  const balance = balanceStrip();
  balance.update(me);
  const codeCard = codeSection();
  const products = new Map();
  const receipts = receiptList({ productName: (id) => products.get(id)?.name ?? `#${id}` });
  const sale = saleSection(() => receipts.reload());

  root.append(
    h('h1', null, t('codes.title')),
    balance.el,
    codeCard.el,
    sale.el,
    h('section', { class: 'card' }, h('h2', null, t('receipts.title')), receipts.el),
  );

  const controller = new AbortController();
  loadCampaigns({ signal: controller.signal })
    .then((campaigns) => {
      const list = campaignProducts(campaigns);
      list.forEach((p) => products.set(p.product_id, p));
      sale.setProducts(list);
      receipts.reload(); // product names arrived
    })
    .catch((error) => error.name !== 'AbortError' && sale.showProblem(error));

  // A decision on a receipt moves its points (pending → available, or back): refresh.
  const reloadReceipts = debounce(() => receipts.reload(), 500);
  const stop = live.subscribe('me', (frame) => {
    if (frame.type === 'snapshot') balance.update(frame.data);
    else if (frame.type === 'event' && frame.event === 'balance_changed') {
      balance.update(frame.data);
      reloadReceipts();
    }
  });

  return () => {
    stop();
    controller.abort();
    reloadReceipts.cancel();
  };
}

/** The code field and the answers of this visit, newest first. */
function codeSection() {
  const results = h('ol', { class: 'code-results', 'aria-live': 'polite', 'data-testid': 'code-results' });
  const codeForm = form({
    className: 'code-form',
    fields: [
      {
        name: 'code',
        label: t('codes.code'),
        required: true,
        placeholder: 'ABCD-EFGH-JKL',
        hint: t('codes.codeHint'),
        autocomplete: 'off',
        attrs: { autocapitalize: 'characters', autocorrect: 'off', spellcheck: 'false', enterkeyhint: 'send' },
      },
    ],
    submit: t('codes.submit'),
    // A fresh key per attempt; a retry after a lost answer reuses it (the form keeps it).
    idempotent: true,
    onSubmit: (v, { idempotencyKey }) =>
      api('/codes/register', { method: 'POST', body: { code: v.code }, idempotencyKey }),
    onSuccess: (registration) => {
      results.prepend(resultLine(registration));
      while (results.childElementCount > KEEP_RESULTS) results.lastElementChild.remove();
      codeForm.setValue('code', '');
      codeForm.input('code').focus();
    },
  });
  return {
    el: h(
      'section',
      { class: 'card', 'aria-labelledby': 'codes-register' },
      h('h2', { id: 'codes-register' }, t('codes.register')),
      codeForm.el,
      results,
    ),
  };
}

/** One answer of `registerCode`: the points, the product, and a hold's reason. */
function resultLine(r) {
  const held = r.status === 'pending';
  return h(
    'li',
    { class: `notice code-result ${held ? '' : 'notice-ok'}`.trim(), 'data-status': r.status },
    h('span', { class: 'code-points credit' }, points(r.points, { signed: true })),
    ' ',
    h('strong', null, r.product.name),
    h('span', { class: 'chip' }, r.code),
    h(
      'div',
      { class: 'small' },
      held
        ? [t('codes.held'), ' ', t(`codes.hold.${r.review_reason}`)]
        : t('codes.credited', { base: points(r.base_points) }),
    ),
  );
}

/** "Report a sale": receipt number, product, quantity and one photo of the receipt. */
function saleSection(onSent) {
  const picker = photoPicker();
  const saleForm = form({
    fields: [
      {
        name: 'receipt_number',
        label: t('sale.number'),
        required: true,
        hint: t('sale.numberHint'),
        autocomplete: 'off',
      },
      { name: 'product_id', label: t('sale.product'), type: 'select', required: true, options: [] },
      {
        name: 'quantity',
        label: t('sale.quantity'),
        type: 'number',
        required: true,
        value: '1',
        inputmode: 'numeric',
        attrs: { min: 1, step: 1 },
      },
      {
        name: 'photo',
        label: t('sale.photo'),
        type: 'custom',
        required: true,
        control: picker,
        hint: t('sale.photoHint'),
      },
    ],
    submit: t('sale.submit'),
    idempotent: true,
    validate: (v) => (/^[1-9]\d*$/.test(v.quantity) ? [] : [{ field: 'quantity', message: t('sale.quantityWhole') }]),
    onSubmit: (v, { idempotencyKey }) =>
      api('/receipts', {
        method: 'POST',
        body: uploadBody(
          { receipt_number: v.receipt_number, product_id: Number(v.product_id), quantity: Number(v.quantity) },
          { photo: v.photo[0] },
        ),
        idempotencyKey,
      }),
    onSuccess: (receipt) => {
      notify(t('sale.sent', { number: receipt.receipt_number, points: points(receipt.points) }), 'success');
      saleForm.setValue('receipt_number', '');
      saleForm.setValue('quantity', '1');
      picker.clear();
      onSent();
    },
  });
  const note = h('div');
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'sale-title' },
    h('h2', { id: 'sale-title' }, t('sale.title')),
    h('p', { class: 'muted' }, t('sale.intro')),
    note,
    saleForm.el,
  );
  saleForm.button.disabled = true; // until the products are known

  return {
    el,
    setProducts(products) {
      if (!products.length) {
        replace(note, h('p', { class: 'notice' }, t('sale.noProducts')));
        return;
      }
      saleForm.setOptions('product_id', [{ value: '', label: t('sale.pickProduct') }, ...productOptions(products)]);
      saleForm.button.disabled = false;
    },
    showProblem: (error) => replace(note, problemBox(error)),
  };
}
