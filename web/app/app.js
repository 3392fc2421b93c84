// The application shell: the route table (who may see which page), the history-API
// router, the header with navigation, and login/logout plumbing. Pages are modules in
// pages/, loaded on first visit; each exports `mount(root, ctx)` and may return a
// cleanup function (unsubscribe, stop timers) that runs when the page is left.

import { h, replace } from './dom.js';
import { t, locale } from './i18n.js';
import { api, onUnauthorized } from './api.js';
import { session, can, canAny, isParticipant, isPending, isProgramWide } from './session.js';
import * as live from './live.js';
import { notify } from './components/toast.js';
import { followSupportReplies } from './components/support-live.js';
import { problemBox } from './components/problem.js';
import { inboxBell } from './components/inbox-bell.js';

const isStaff = () => session.me()?.kind === 'staff';
const activeParticipant = () => isParticipant() && !isPending();

/**
 * Routes, in navigation order. `nav`: the label key when the page is in the menu;
 * `allow()`: whether this person may see it (from `getMe`: kind, status, permissions).
 */
const routes = [
  { path: '/login', load: () => import('./pages/login.js'), public: true },
  { path: '/seller', nav: 'nav.points', allow: isParticipant, load: () => import('./pages/seller.js') },
  { path: '/codes', nav: 'nav.codes', allow: activeParticipant, load: () => import('./pages/codes.js') },
  { path: '/tasks', nav: 'nav.tasks', allow: activeParticipant, load: () => import('./pages/tasks.js') },
  { path: '/rewards', nav: 'nav.rewards', allow: activeParticipant, load: () => import('./pages/rewards.js') },
  { path: '/orders', nav: 'nav.orders', allow: activeParticipant, load: () => import('./pages/orders.js') },
  { path: '/payouts', nav: 'nav.payouts', allow: activeParticipant, load: () => import('./pages/payouts.js') },
  // Support requests: the list and a new one, then one request's thread.
  { path: '/support', nav: 'nav.support', allow: activeParticipant, load: () => import('./pages/support.js') },
  { path: '/support/:id', allow: activeParticipant, load: () => import('./pages/support.js') },
  // Message settings: language, SMS / e-mail / push, quiet hours (also a card on /seller).
  { path: '/settings', nav: 'nav.settings', allow: activeParticipant, load: () => import('./pages/settings.js') },
  {
    path: '/my-stores',
    nav: 'nav.myStores',
    allow: () => activeParticipant() && can('stores.view'),
    load: () => import('./pages/owner.js'),
  },
  {
    path: '/moderation',
    nav: 'nav.moderation',
    allow: () => canAny('moderation.edit', 'moderation.view'),
    load: () => import('./pages/moderator.js'),
  },
  {
    path: '/admin/stores',
    nav: 'nav.stores',
    allow: () => isStaff() && can('stores.view'),
    load: () => import('./pages/admin-stores.js'),
  },
  {
    path: '/admin/participants',
    nav: 'nav.participants',
    allow: () => isStaff() && can('participants.view'),
    load: () => import('./pages/admin-participants.js'),
  },
  {
    path: '/admin/imports',
    nav: 'nav.imports',
    allow: () => canAny('stores.edit', 'participants.edit', 'products.edit', 'rewards.edit') && isStaff(),
    load: () => import('./pages/admin-imports.js'),
  },
  // Brands see and edit their own rewards; orders are the whole program's.
  {
    path: '/admin/rewards',
    nav: 'nav.rewardsAdmin',
    allow: () => isStaff() && canAny('rewards.view', 'rewards.edit'),
    load: () => import('./pages/admin-rewards.js'),
  },
  {
    path: '/admin/orders',
    nav: 'nav.ordersAdmin',
    allow: () => isStaff() && canAny('rewards.view', 'rewards.edit') && isProgramWide(),
    load: () => import('./pages/admin-orders.js'),
  },
  {
    path: '/admin/roles',
    nav: 'nav.roles',
    allow: () => canAny('roles.view', 'staff.edit'),
    load: () => import('./pages/admin-roles.js'),
  },
  {
    path: '/admin/program',
    nav: 'nav.program',
    allow: () => can('program.edit'),
    load: () => import('./pages/admin-program.js'),
  },
  // The reference lists everything else is grouped by.
  {
    path: '/admin/catalogs',
    nav: 'nav.catalogs',
    allow: () =>
      isStaff() &&
      canAny('regions.view', 'regions.edit', 'partners.view', 'partners.edit', 'brands.view', 'brands.edit'),
    load: () => import('./pages/admin-catalogs.js'),
  },
  // Brands run their own campaigns; admins every campaign of the program.
  {
    path: '/admin/campaigns',
    nav: 'nav.campaigns',
    allow: () => isStaff() && canAny('campaigns.view', 'campaigns.edit'),
    load: () => import('./pages/admin-campaigns.js'),
  },
  // Tasks: brands define their own, admins the program's; quests and the trust
  // settings are the whole program's.
  {
    path: '/admin/tasks',
    nav: 'nav.tasksAdmin',
    allow: () => isStaff() && canAny('tasks.view', 'tasks.edit'),
    load: () => import('./pages/admin-tasks.js'),
  },
  {
    path: '/admin/quests',
    nav: 'nav.quests',
    allow: () => isStaff() && canAny('tasks.view', 'tasks.edit') && isProgramWide(),
    load: () => import('./pages/admin-quests.js'),
  },
  // Brands keep their own products; admins the whole catalog.
  {
    path: '/admin/products',
    nav: 'nav.products',
    allow: () => isStaff() && canAny('products.view', 'products.edit'),
    load: () => import('./pages/admin-products.js'),
  },
  // Brands and admins order printed codes and watch the pools that feed them.
  {
    path: '/admin/codes',
    nav: 'nav.printedCodes',
    allow: () => isStaff() && canAny('codes.view', 'codes.edit'),
    load: () => import('./pages/code-batches.js'),
  },
  // Reports list what the person's `reports.view` scope reaches (owners: their stores).
  {
    path: '/reports',
    nav: 'nav.reports',
    allow: () => can('reports.view') && !isPending(),
    load: () => import('./pages/reports.js'),
  },
  // The ledger check covers the whole program, so a regional role is not enough.
  {
    path: '/admin/ledger',
    nav: 'nav.ledger',
    allow: () => can('points.view') && isProgramWide() && isStaff(),
    load: () => import('./pages/admin-ledger.js'),
  },
  // Points expiry: the program's rule, what is due and the runs, all program-wide.
  {
    path: '/admin/expiry',
    nav: 'nav.expiry',
    allow: () => can('points.view') && isProgramWide() && isStaff(),
    load: () => import('./pages/admin-expiry.js'),
  },
  // The program as tax agent: its rule and the yearly report, program-wide as well.
  {
    path: '/admin/tax',
    nav: 'nav.tax',
    allow: () => can('points.view') && isProgramWide() && isStaff(),
    load: () => import('./pages/admin-tax.js'),
  },
  // Retroactive recalculation and the debts it leaves: the whole program's as well
  // (the wizard itself takes `points.edit`).
  {
    path: '/admin/recalculations',
    nav: 'nav.recalculations',
    allow: () => canAny('points.view', 'points.edit') && isProgramWide() && isStaff(),
    load: () => import('./pages/admin-recalculations.js'),
  },
  // The effect queue is the whole program's too.
  {
    path: '/admin/effects',
    nav: 'nav.effects',
    allow: () => isStaff() && canAny('program.view', 'program.edit') && isProgramWide(),
    load: () => import('./pages/admin-effects.js'),
  },
  // Outbound webhooks: subscriptions with their secrets, so program-wide `program.edit`.
  {
    path: '/admin/webhooks',
    nav: 'nav.webhooks',
    allow: () => isStaff() && can('program.edit') && isProgramWide(),
    load: () => import('./pages/admin-webhooks.js'),
  },
  // The messages' templates per trigger (changing them takes `program.edit`).
  {
    path: '/admin/notifications',
    nav: 'nav.notifications',
    allow: () => isStaff() && canAny('program.view', 'program.edit') && isProgramWide(),
    load: () => import('./pages/admin-notifications.js'),
  },
  // Participants' support requests: the whole program's (answering takes `support.edit`).
  {
    path: '/admin/support',
    nav: 'nav.supportAdmin',
    allow: () => isStaff() && canAny('support.view', 'support.edit') && isProgramWide(),
    load: () => import('./pages/admin-support.js'),
  },
  // News, the program's rules and the FAQ (writing them takes program-wide `content.edit`).
  {
    path: '/admin/content',
    nav: 'nav.content',
    allow: () => isStaff() && canAny('content.view', 'content.edit'),
    load: () => import('./pages/admin-content.js'),
  },
  // Mailings to a segment: the whole program's (sending takes `content.edit`).
  {
    path: '/admin/mailings',
    nav: 'nav.mailings',
    allow: () => isStaff() && canAny('content.view', 'content.edit') && isProgramWide(),
    load: () => import('./pages/admin-mailings.js'),
  },
  // Staff who see campaigns watch their boards too (a brand its own campaigns). Last in
  // the menu, so staff still start on their own work (the first page they may see).
  {
    path: '/leaderboard',
    nav: 'nav.leaderboard',
    allow: () => activeParticipant() || (isStaff() && can('campaigns.view')),
    load: () => import('./pages/leaderboard.js'),
  },
  // A participant's tax number and certificate of income, linked from their points page.
  { path: '/tax', allow: activeParticipant, load: () => import('./pages/tax.js') },
  // The inbox (the header's bell), news, the program's rules and the FAQ, linked from
  // the points page.
  { path: '/inbox', allow: activeParticipant, load: () => import('./pages/inbox.js') },
  { path: '/news', allow: activeParticipant, load: () => import('./pages/news.js') },
  { path: '/news/:id', allow: activeParticipant, load: () => import('./pages/news.js') },
  { path: '/rules', allow: activeParticipant, load: () => import('./pages/rules.js') },
  { path: '/faq', allow: activeParticipant, load: () => import('./pages/faq.js') },
  { path: '/stores/:id', allow: () => can('stores.view') && !isPending(), load: () => import('./pages/store.js') },
  { path: '/people/:id', allow: () => can('participants.view'), load: () => import('./pages/person.js') },
];

const header = document.getElementById('header');
document.querySelector('.skip').textContent = t('app.skip');
const main = document.getElementById('app');
let cleanup = null;
let renderId = 0;
let unfollowStatus = null;

function match(pathname) {
  for (const route of routes) {
    const names = [];
    const pattern = new RegExp(`^${route.path.replace(/:(\w+)/g, (_, name) => (names.push(name), '([^/]+)'))}/?$`);
    const found = pattern.exec(pathname);
    if (found) return { route, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1])])) };
  }
  return null;
}

/** The first page this person may see: their home after login. */
function home() {
  return routes.find((r) => r.nav && r.allow())?.path ?? '/seller';
}

function navigate(path, { replace: replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, '', path);
  else {
    history.pushState(null, '', path);
    window.scrollTo(0, 0);
  }
  render();
}

async function loadMe() {
  session.setMe(await api('/me'));
}

async function render() {
  const id = ++renderId;
  const url = new URL(location.href);
  const token = session.token();
  if (!token && url.pathname !== '/login') {
    const next = url.pathname === '/' ? '' : `?next=${encodeURIComponent(url.pathname + url.search)}`;
    return navigate(`/login${next}`, { replace: true });
  }
  if (token && !session.me()) {
    try {
      await loadMe();
    } catch (error) {
      if (error.status === 401) return; // onUnauthorized sends them to the login page
      replace(main, problemBox(error), h('button', { type: 'button', onclick: render }, t('common.retry')));
      return;
    }
    if (id !== renderId) return;
  }
  if (url.pathname === '/' || (url.pathname === '/login' && token)) return navigate(home(), { replace: true });

  const found = match(url.pathname);
  cleanup?.();
  cleanup = null;
  renderHeader(url.pathname);
  // Support's answers reach a participant on any page (a toast unless the thread shows it).
  followSupportReplies(Boolean(session.me()) && activeParticipant());
  if (!found) return show(t('page.notFound'), h('p', null, t('page.notFoundText')), homeLink());
  const { route, params } = found;
  if (!route.public && !route.allow())
    return show(t('page.forbidden'), h('p', null, t('page.forbiddenText')), homeLink());

  let page;
  try {
    page = await route.load();
  } catch {
    // The module could not be fetched (offline, or a new release replaced it).
    return show(
      t('page.loadFailed'),
      h('button', { type: 'button', onclick: () => location.reload() }, t('common.retry')),
    );
  }
  if (id !== renderId) return;
  replace(main);
  const ctx = { params, query: url.searchParams, me: session.me(), navigate, loggedIn, data: route.data ?? {} };
  cleanup = page.mount(main, ctx) ?? null;
  document.title = `${main.querySelector('h1')?.textContent ?? ''} · ${t('app.name')}`;
  // Move focus to the new page's heading so screen readers announce the change.
  const heading = main.querySelector('h1');
  if (heading && document.activeElement === document.body) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function show(title, ...content) {
  replace(main, h('h1', null, title), content);
  document.title = `${title} · ${t('app.name')}`;
}

function homeLink() {
  return h('p', null, h('a', { href: home() }, t('page.home')));
}

/**
 * RU / EN. The choice is kept in localStorage `stimul.lang` (which i18n.js reads) and the
 * page is loaded again in it; a `?lang=` in the address would override it, so it goes.
 */
function languageSwitch() {
  const choose = (lang) => {
    const url = new URL(location.href);
    url.searchParams.delete('lang');
    try {
      localStorage.setItem('stimul.lang', lang);
    } catch {
      url.searchParams.set('lang', lang); // storage refused (private mode): the address carries it
    }
    if (url.href === location.href) location.reload();
    else location.replace(url.href);
  };
  return h(
    'div',
    { class: 'lang-switch', role: 'group', 'aria-label': t('lang.label') },
    ['ru', 'en'].map((lang) =>
      h(
        'button',
        {
          type: 'button',
          lang,
          title: t(`lang.${lang}`),
          'aria-pressed': String(lang === locale),
          onclick: () => lang !== locale && choose(lang),
        },
        lang.toUpperCase(),
      ),
    ),
  );
}

function renderHeader(pathname) {
  const me = session.me();
  if (!me) {
    replace(header, h('a', { class: 'brand', href: '/' }, t('app.name')), h('div', { class: 'who' }, languageSwitch()));
    return;
  }
  const items = routes.filter((r) => r.nav && r.allow());
  const status = h('span', { class: 'live-status', 'aria-live': 'polite' });
  unfollowStatus?.();
  unfollowStatus = live.onStatus((s) => {
    status.className = `live-status live-${s}`;
    status.textContent = s === 'offline' ? '' : t(`live.${s}`);
  });
  replace(
    header,
    h('a', { class: 'brand', href: home() }, t('app.name')),
    h(
      'nav',
      { 'aria-label': t('nav.label') },
      h(
        'ul',
        null,
        items.map((r) =>
          h(
            'li',
            null,
            h('a', { href: r.path, 'aria-current': pathname.startsWith(r.path) ? 'page' : null }, t(r.nav)),
          ),
        ),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      status,
      activeParticipant() ? inboxBell() : null,
      h('span', { class: 'who-name' }, me.name),
      languageSwitch(),
      h('button', { type: 'button', class: 'link', onclick: logout }, t('nav.logout')),
    ),
  );
  // On phones the menu scrolls sideways: keep the current page's entry in view.
  header.querySelector('nav [aria-current]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

async function logout() {
  try {
    await api('/auth/logout', { method: 'POST', as: 'none' });
  } catch {
    // The session is forgotten here either way.
  }
  endSession();
}

/** Forgets the session; after an expiry the login page brings the person back here. */
function endSession({ comeBack = false } = {}) {
  session.clear();
  live.reset();
  const here = location.pathname + location.search;
  navigate(comeBack && here !== '/login' ? `/login?next=${encodeURIComponent(here)}` : '/login', { replace: true });
}

/** Called by the login page (through its ctx) once it holds a token. */
function loggedIn(token, next) {
  session.setToken(token);
  session.setMe(null);
  navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
}

onUnauthorized(() => {
  if (!session.token()) return;
  notify(t('login.expired'), 'error');
  endSession({ comeBack: true });
});

// Same-origin links are routed here instead of reloading the page.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href]');
  if (!link || link.target || link.hasAttribute('download') || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

render();
