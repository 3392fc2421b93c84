// Browser smoke test of the UI against a running demo server (`serve --demo`):
// 1. a wrong password shows the server's problem on the login form;
// 2. seller1 and admin log in on two pages; the admin awards seller1 points through
//    the participants page, and the seller's balance and history change live, without
//    a reload;
// 3. the moderator opens the live queue, a participant registers through the API, the
//    item arrives by itself, the moderator approves it, and the person is active.
// Prints "N passed, N failed" and exits non-zero on any failure; screenshots of
// failures go to OUT (default /tmp/stimul-smoke).
//
//   BASE_URL=http://127.0.0.1:18090 node web/tests/smoke.mjs

import { mkdir } from 'node:fs/promises';
import { launch, login } from './browser.mjs';

const base = process.env.BASE_URL?.replace(/\/$/, '');
if (!base) {
  console.error('BASE_URL is not set (e.g. http://127.0.0.1:18090)');
  process.exit(2);
}
const out = process.env.OUT ?? '/tmp/stimul-smoke';
await mkdir(out, { recursive: true });
const stamp = `${Date.now()}`;
const TIMEOUT = 15_000;

/** The API over plain HTTP, for setting up and verifying what the UI did. */
async function call(path, { token, method = 'GET', body } = {}) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** "1 234.50" as shown (thin spaces, a real minus) → hundredths as a BigInt. */
function shownCents(text) {
  const clean = text.replace(/[\s\u202f\u2009]/g, '').replace('\u2212', '-');
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(clean);
  if (!match) throw new Error(`not an amount on screen: ${JSON.stringify(text)}`);
  const cents = BigInt(match[2]) * 100n + BigInt(match[3]);
  return match[1] ? -cents : cents;
}

const browser = await launch();
const pages = [];
/** A page in its own context (its own sessionStorage: its own login). */
async function newPage(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  pages.push({ name, page });
  return page;
}

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.error(`FAILED - ${name}\n${error.stack ?? error}`);
    for (const { name: who, page } of pages) {
      const file = `${out}/${name.replace(/\W+/g, '-')}-${who}.png`;
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.error(`  screenshot: ${file}`);
    }
  }
}

try {
  await check('a wrong password shows the problem on the form', async () => {
    const page = await newPage('anonymous');
    await page.goto(`${base}/login`);
    await page.fill('input[name=login]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await page.click('form button[type=submit]');
    const alert = page.locator('.problem[role=alert]');
    await alert.waitFor();
    if (!/wrong/i.test(await alert.textContent()))
      throw new Error(`unexpected problem text: ${await alert.textContent()}`);
    if (!new URL(page.url()).pathname.startsWith('/login')) throw new Error('left the login page');
  });

  await check('an award through the admin UI updates the seller page live', async () => {
    const seller = await newPage('seller');
    await login(seller, base, 'seller1');
    await seller.waitForURL(/\/seller$/);
    await seller.locator('.live-online').waitFor(); // subscribed to `me`
    const available = seller.locator('[data-testid=available]');
    const before = shownCents(await available.textContent());
    // Marks this document: a reload would lose it.
    await seller.evaluate(() => {
      window.__smokeMarker = true;
    });

    const admin = await newPage('admin');
    await login(admin, base, 'admin');
    await admin.goto(`${base}/admin/participants?q=${encodeURIComponent('+79002000001')}`);
    const row = admin.locator('tbody tr', { hasText: 'Seller 1' }).first();
    await row.locator('[data-action=award]').click();
    const dialog = admin.locator('dialog[open]');
    await dialog.locator('input[name=amount]').fill('12.50');
    await dialog.locator('textarea[name=comment]').fill(`smoke ${stamp}`);
    await dialog.locator('button[type=submit]').click();
    await dialog.waitFor({ state: 'detached' });

    // Bronze multiplies by 1: the balance grows by exactly 12.50.
    const expected = before + 1250n;
    await seller.waitForFunction(
      ([want]) => {
        const text = document.querySelector('[data-testid=available]')?.textContent ?? '';
        const clean = text.replace(/[\s\u202f\u2009]/g, '').replace('\u2212', '-');
        return clean === want;
      },
      [`${expected / 100n}.${String(expected % 100n).padStart(2, '0')}`],
      { timeout: TIMEOUT },
    );
    if (!(await seller.evaluate(() => window.__smokeMarker === true))) throw new Error('the seller page was reloaded');
    await seller.locator('.history tbody tr', { hasText: `smoke ${stamp}` }).waitFor();
  });

  await check('a registration reaches the moderator live and is approved', async () => {
    const moderator = await newPage('moderator');
    await login(moderator, base, 'moderator');
    await moderator.goto(`${base}/moderation`);
    await moderator.selectOption('#capacity', '50'); // room for items older runs left
    await moderator.locator('.live-online').waitFor();

    const phone = `+7955${stamp.slice(-7)}`;
    const name = `Smoke ${stamp}`;
    const registered = await call('/registrations', { method: 'POST', body: { phone, name, store_id: 1 } });
    if (registered.status !== 'pending') throw new Error(`registration is ${registered.status}`);

    const item = moderator.locator('article.item', { hasText: name });
    await item.waitFor();
    await item.locator('[data-decision=approve]').click();
    await item.locator('.item-status', { hasText: 'Approved' }).waitFor();
    await item.waitFor({ state: 'detached' });

    const admin = await call('/auth/login', { method: 'POST', body: { login: 'admin', password: 'demo' } });
    const person = await call(`/participants/${registered.participant_id}`, { token: admin.token });
    if (person.status !== 'active') throw new Error(`after approval the person is ${person.status}`);
  });
} finally {
  await browser.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
