// Pieces of the rewards showcase shared by the seller's pages and the admin's: the
// kinds with their labels, a reward's price (fixed, or the range of a chosen amount),
// points with their plural ("1 point", "5 баллов"), and money paid by card.

import { h } from '../dom.js';
import { t, tn, tOr } from '../i18n.js';
import { points } from '../format.js';

/** Every kind the server knows, in showcase order. */
export const KINDS = ['gift_certificate', 'virtual_card', 'phone_topup', 'goods', 'merch', 'card_payout'];

/** Kinds staff ship (they need a delivery address). */
export const SHIPPED = new Set(['goods', 'merch']);

/** "1 250.00 points" with the plural the language wants. */
export function pointsText(value) {
  return tn('points.n', value, { n: points(value) });
}

/**
 * Money paid by card (the part of an order points do not cover): roubles, not points,
 * so it says so ("200.00 ₽"); the number is formatted as points are.
 */
export function moneyText(value) {
  return t('money.rub', { n: points(value) });
}

/** A kind's label. */
export function kindLabel(kind) {
  return tOr(`kind.${kind}`, kind);
}

/** A kind as a badge. */
export function kindBadge(kind) {
  return h('span', { class: `badge kind kind-${kind}` }, kindLabel(kind));
}

/** What a reward costs: "500.00 points", or "100.00 to 5 000.00 points" for a chosen amount. */
export function priceText(reward) {
  if (reward.price !== null && reward.price !== undefined) return pointsText(reward.price);
  return tn('points.n', reward.max_amount, {
    n: t('rewards.range', { min: points(reward.min_amount), max: points(reward.max_amount) }),
  });
}

/** Whether a reward is sold by a chosen amount (min_amount … max_amount). */
export function chosenAmount(reward) {
  return (reward.price === null || reward.price === undefined) && Boolean(reward.min_amount);
}
