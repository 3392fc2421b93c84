// Screenshots of every page, as each demo role sees it, at phone (360 px) and desktop
// width, for looking at the UI after a change. Fails on any console error or failed
// page script. Needs a demo server at BASE_URL (see README).
//
//   BASE_URL=http://127.0.0.1:18090 OUT=/tmp/stimul-shots node web/tests/screens.mjs

import { mkdir } from 'node:fs/promises';
import { launch, login } from './browser.mjs';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:18090';
const out = process.env.OUT ?? '/tmp/stimul-shots';
await mkdir(out, { recursive: true });

const tours = [
  {
    who: 'seller1',
    pages: [
      '/seller',
      '/codes',
      '/tasks',
      '/rewards',
      '/orders',
      '/payouts',
      '/tax',
      '/support',
      '/inbox',
      '/news',
      '/rules',
      '/faq',
      '/settings',
      '/leaderboard',
    ],
  },
  { who: 'brand', pages: ['/leaderboard'] },
  { who: 'owner1', pages: ['/my-stores', '/stores/1'] },
  { who: 'moderator', pages: ['/moderation'] },
  {
    who: 'admin',
    pages: [
      '/admin/stores',
      '/admin/participants',
      '/admin/imports',
      '/admin/roles',
      '/admin/program',
      '/admin/ledger',
      '/admin/expiry',
      '/admin/tax',
      '/admin/recalculations',
      '/admin/tasks',
      '/admin/quests',
      '/admin/rewards',
      '/admin/orders',
      '/admin/effects',
      '/admin/support',
      '/admin/content',
      '/admin/mailings',
      '/admin/webhooks',
      '/admin/notifications',
      '/people/5',
    ],
  },
  { who: 'manager', pages: ['/admin/stores'] },
];
const widths = [
  { name: 'phone', viewport: { width: 360, height: 780 } },
  { name: 'desktop', viewport: { width: 1280, height: 900 } },
];

// Something for the moderator to look at: a seller joining a store, and a new store
// registering with its sellers.
const stamp = String(Date.now()).slice(-7);
async function register(body) {
  const response = await fetch(`${base}/api/v1/registrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`registration: ${response.status} ${await response.text()}`);
}
await register({ phone: `+7966${stamp}`, name: `Irina Petrova ${stamp}`, store_id: 1 });
await register({
  phone: `+7977${stamp}`,
  name: `Oleg Sidorov ${stamp}`,
  store: {
    name: `Kran i Truba ${stamp}`,
    address: 'Kazan, Baumana 5',
    members: [{ phone: `+7978${stamp}`, name: 'Anna Sidorova' }],
  },
});

const browser = await launch();
const problems = [];
try {
  const anonymous = await browser.newPage({ viewport: widths[0].viewport });
  await anonymous.goto(`${base}/login`);
  await anonymous.waitForSelector('form');
  await anonymous.screenshot({ path: `${out}/login-phone.png`, fullPage: true });
  await anonymous.close();

  for (const tour of tours) {
    for (const width of widths) {
      const page = await browser.newPage({ viewport: width.viewport });
      page.on('console', (m) => m.type() === 'error' && problems.push(`${tour.who} ${page.url()}: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`${tour.who} ${page.url()}: ${e.message}`));
      await login(page, base, tour.who);
      for (const path of tour.pages) {
        await page.goto(`${base}${path}`);
        await page.waitForSelector('main h1');
        await page.waitForLoadState('networkidle').catch(() => {});
        await page.waitForTimeout(400);
        const file = `${out}/${tour.who}${path.replaceAll('/', '-')}-${width.name}.png`;
        await page.screenshot({ path: file, fullPage: true });
        console.log(file);
      }
      await page.close();
    }
  }
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
