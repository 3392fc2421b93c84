// One participant as owners, managers and admins see them: profile, live-ish standing
// (with what they owe when a recalculation took back more than they had),
// the actions the viewer may take, their points history, and with `reports.view` their
// certificate of income for a year (`getTaxCertificate`), printable on its own.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { when } from '../format.js';
import { standingCard } from '../components/standing.js';
import { historyList } from '../components/history.js';
import { problemBox } from '../components/problem.js';
import { personActions, statusBadge } from '../components/actions.js';
import { storeLink } from '../components/names.js';
import { certificateCard } from '../components/tax.js';

export function mount(root, { params }) {
  const id = params.id;
  const heading = h('h1', null, t('people.person'));
  const profile = h('div');
  const standingSlot = h('div');
  const taxSlot = h('div');
  root.append(heading, profile, standingSlot);
  let history = null;
  let certificate = null;

  async function load(again = false) {
    try {
      const person = await api(`/participants/${id}`);
      replace(heading, person.name);
      replace(
        profile,
        h(
          'section',
          { class: 'card' },
          h(
            'dl',
            { class: 'facts' },
            fact(
              t('people.number'),
              can('roles.view')
                ? h('a', { href: `/admin/roles?user=${person.id}` }, `${person.id}`)
                : String(person.id),
            ),
            fact(t('people.status'), statusBadge(person.status)),
            fact(t('people.phone'), person.phone ?? '—'),
            fact(t('people.login'), person.login ?? '—'),
            fact(t('people.store'), person.store_id ? storeLink(person.store_id) : '—'),
            fact(t('people.since'), when(person.created_at)),
          ),
          personActions(person, () => load(true)),
        ),
      );
      if (!certificate && can('reports.view') && person.kind === 'participant') {
        certificate = certificateCard({ path: `/participants/${id}/tax-certificate` });
        replace(taxSlot, certificate.el);
        certificate.reload();
      }
      if (can('points.view') && person.kind === 'participant') {
        const standing = await api(`/participants/${id}/standing`);
        replace(standingSlot, standingCard(standing, { own: false }).el);
        if (again) history?.reload();
      }
    } catch (error) {
      replace(profile, problemBox(error));
    }
  }

  load();
  if (can('points.view')) {
    history = historyList(`/participants/${id}/transactions`);
    root.append(h('section', { class: 'card' }, h('h2', null, t('history.title')), history.el));
  }
  // The certificate comes last: a printout of it leaves the rest of the page out.
  root.append(taxSlot);
  return () => certificate?.abort();
}

function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value));
}
