// The campaigns a person can see (`listCampaigns`: a participant gets the running ones
// they take part in, staff those in their scope) and what pages pick from them: the
// campaign of a leaderboard, the product of a sale report, a product's name in a list.

import { api } from '../api.js';
import { points } from '../format.js';
import { t } from '../i18n.js';

/** Every campaign on one page of up to 200 (a program runs a handful at a time). */
export async function loadCampaigns({ signal } = {}) {
  const page = await api('/campaigns', { signal, query: { limit: 200 } });
  // Drafts have no board and pay nothing: nobody picks them here.
  return page.items.filter((c) => c.status !== 'draft');
}

/** Options for a campaign select, running ones first. */
export function campaignOptions(campaigns) {
  const running = (c) => (c.status === 'active' ? 0 : 1);
  return [...campaigns]
    .sort((a, b) => running(a) - running(b) || b.starts_at - a.starts_at)
    .map((c) => ({
      value: c.id,
      label: c.status === 'active' ? c.name : `${c.name} (${t(`campaign.status.${c.status}`)})`,
    }));
}

/** The products the campaigns pay for, once each (the first campaign's rate wins). */
export function campaignProducts(campaigns) {
  const products = new Map();
  for (const campaign of campaigns) {
    for (const product of campaign.products) {
      if (!products.has(product.product_id)) products.set(product.product_id, product);
    }
  }
  return [...products.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Options for a product select in a sale report: name, SKU and the base rate per unit. */
export function productOptions(products) {
  return products.map((p) => ({
    value: p.product_id,
    label: t('campaign.productOption', { name: p.name, sku: p.sku, points: points(p.points_per_unit) }),
  }));
}
