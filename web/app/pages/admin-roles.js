// Roles and access: the program's roles with their permissions, a new role composed
// from permissions (view / edit per section), staff accounts, and one user's role
// assignments with a scope (program, region, partner, brand or store).

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { can, session } from '../session.js';
import { table } from '../components/table.js';
import { form, namedOptions } from '../components/form.js';
import { problemBox } from '../components/problem.js';
import { confirmDialog } from '../components/dialog.js';
import { actionButton } from '../components/actions.js';
import { notify } from '../components/toast.js';

const SCOPES = ['program', 'region', 'partner', 'brand', 'store'];

export function mount(root, { query }) {
  const me = session.me();
  root.append(h('h1', null, t('roles.title')));
  let roles = [];

  // --- the roles -------------------------------------------------------------------
  const rolesTable = table({
    empty: t('roles.none'),
    columns: [
      {
        label: t('roles.name'),
        render: (r) => [
          h('strong', null, r.name),
          r.builtin ? h('span', { class: 'badge' }, t('roles.builtin')) : null,
        ],
      },
      { label: t('roles.description'), render: (r) => r.description },
      {
        label: t('roles.permissions'),
        render: (r) =>
          h(
            'div',
            { class: 'chips' },
            r.permissions.map((p) => h('span', { class: 'chip' }, p)),
          ),
      },
      {
        label: t('common.actions'),
        render: (r) =>
          !r.builtin && can('roles.edit')
            ? actionButton(
                t('common.delete'),
                async () => {
                  if (
                    !(await confirmDialog(t('roles.deleteQuestion', { name: r.name }), {
                      confirm: t('common.delete'),
                      danger: true,
                    }))
                  )
                    return;
                  await api(`/roles/${r.id}`, { method: 'DELETE', as: 'none' });
                  loadRoles();
                },
                { danger: true },
              )
            : '',
      },
    ],
  });
  const rolesNote = h('div');
  if (can('roles.view'))
    root.append(h('section', { class: 'card' }, h('h2', null, t('roles.list')), rolesNote, rolesTable.el));

  async function loadRoles() {
    try {
      roles = await api('/roles');
      rolesTable.setRows(roles);
      assign?.setOptions(
        'role_id',
        roles.map((r) => ({ value: r.id, label: r.name })),
      );
    } catch (error) {
      replace(rolesNote, problemBox(error));
    }
  }

  // --- a new role ------------------------------------------------------------------
  if (can('roles.edit')) {
    const grid = permissionGrid();
    const create = form({
      fields: [
        { name: 'name', label: t('roles.name'), required: true },
        { name: 'description', label: t('roles.description') },
        { name: 'permissions', label: t('roles.permissions'), type: 'custom', control: grid, required: true },
      ],
      submit: t('roles.create'),
      idempotent: true,
      resetOnSuccess: true,
      onSubmit: (v, { idempotencyKey }) =>
        api('/roles', {
          method: 'POST',
          idempotencyKey,
          body: { name: v.name, description: v.description, permissions: v.permissions },
        }),
      onSuccess: (role) => {
        notify(t('roles.created', { name: role.name }), 'success');
        loadRoles();
      },
    });
    root.append(h('section', { class: 'card' }, h('h2', null, t('roles.create')), create.el));
  }

  // --- staff accounts --------------------------------------------------------------
  if (can('staff.edit')) {
    const staff = form({
      fields: [
        { name: 'name', label: t('people.name'), required: true },
        { name: 'login', label: t('people.login'), required: true, autocomplete: 'off' },
        {
          name: 'password',
          label: t('login.password'),
          type: 'password',
          required: true,
          autocomplete: 'new-password',
        },
        { name: 'phone', label: t('people.phone'), type: 'tel' },
      ],
      submit: t('staff.create'),
      idempotent: true,
      resetOnSuccess: true,
      onSubmit: (v, { idempotencyKey }) =>
        api('/users', {
          method: 'POST',
          idempotencyKey,
          body: { name: v.name, login: v.login, password: v.password, phone: v.phone || null },
        }),
      onSuccess: (person) => {
        notify(t('staff.created', { name: person.name, id: person.id }), 'success');
        showUser(person.id);
      },
    });
    root.append(
      h(
        'section',
        { class: 'card' },
        h('h2', null, t('staff.create')),
        h('p', { class: 'muted' }, t('staff.hint')),
        staff.el,
      ),
    );
  }

  // --- one user's roles ------------------------------------------------------------
  const userRoles = table({
    empty: t('roles.userNone'),
    columns: [
      { label: t('roles.role'), render: (a) => a.role },
      { label: t('roles.scope'), render: (a) => `${t(`scope.${a.scope.kind}`)}: ${scopeName(a.scope)}` },
      {
        label: t('common.actions'),
        render: (a) =>
          can('roles.edit')
            ? actionButton(
                t('roles.revoke'),
                async () => {
                  await api(`/users/${a.user_id}/roles/${a.id}`, { method: 'DELETE', as: 'none' });
                  showUser(a.user_id);
                },
                { danger: true },
              )
            : '',
      },
    ],
  });
  const userNote = h('div');
  const userBox = h('div', { hidden: true }, userNote, userRoles.el);
  const lookup = form({
    fields: [
      {
        name: 'user_id',
        label: t('roles.userId'),
        type: 'number',
        required: true,
        value: query.get('user') ?? '',
        attrs: { min: 1 },
        hint: t('roles.userHint'),
      },
    ],
    submit: t('roles.show'),
    onSubmit: async (v) => showUser(v.user_id),
  });
  let currentUser = null;

  async function showUser(id) {
    currentUser = Number(id);
    lookup.setValue('user_id', id);
    userBox.hidden = false;
    replace(userNote);
    try {
      const assignments = await api(`/users/${currentUser}/roles`);
      // Names for the scopes shown; a list the viewer may not read leaves "#id".
      await Promise.all(
        [...new Set(assignments.map((a) => a.scope.kind))].map((kind) => loadScope(kind).catch(() => null)),
      );
      userRoles.setRows(assignments);
    } catch (error) {
      userRoles.setRows([]);
      replace(userNote, problemBox(error));
    }
  }

  let assign = null;
  const scopeChoices = {}; // kind → Promise<[{id, name}]>
  const loadedScopes = {}; // kind → [{id, name}] once loaded, for labels
  if (can('roles.edit')) {
    assign = form({
      fields: [
        { name: 'role_id', label: t('roles.role'), type: 'select', required: true, options: [] },
        {
          name: 'scope_kind',
          label: t('roles.scopeKind'),
          type: 'select',
          options: SCOPES.map((s) => ({ value: s, label: t(`scope.${s}`) })),
        },
        { name: 'scope_id', label: t('roles.scopeId'), type: 'select', required: true, options: [] },
      ],
      submit: t('roles.assign'),
      idempotent: true,
      validate: () => (currentUser ? [] : [{ field: 'role_id', message: t('roles.pickUser') }]),
      onSubmit: (v, { idempotencyKey }) =>
        api(`/users/${currentUser}/roles`, {
          method: 'POST',
          idempotencyKey,
          body: { role_id: Number(v.role_id), scope: { kind: v.scope_kind, id: Number(v.scope_id) } },
        }),
      onSuccess: () => showUser(currentUser),
    });
    assign.input('scope_kind').addEventListener('change', () => fillScope(assign.values().scope_kind));
    fillScope('program');
  }

  /** The objects a scope kind can point at (stores: the first 200), loaded once. */
  function loadScope(kind) {
    if (!scopeChoices[kind]) {
      const load = {
        program: async () => [{ id: me.program_id, name: me.program }],
        region: () => api('/regions'),
        partner: () => api('/partners'),
        brand: () => api('/brands'),
        store: async () => (await api('/stores', { query: { limit: 200 } })).items,
      }[kind];
      scopeChoices[kind] = load().then(
        (list) => {
          loadedScopes[kind] = list;
          return list;
        },
        (error) => {
          delete scopeChoices[kind]; // try again next time
          throw error;
        },
      );
    }
    return scopeChoices[kind];
  }

  function scopeName(scope) {
    const list = loadedScopes[scope.kind];
    return list?.find((item) => item.id === scope.id)?.name ?? `#${scope.id}`;
  }

  async function fillScope(kind) {
    try {
      assign.setOptions('scope_id', namedOptions(await loadScope(kind)));
    } catch (error) {
      assign.showProblem(error);
    }
  }

  root.append(
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('roles.userRoles')),
      lookup.el,
      userBox,
      assign ? h('div', null, h('h3', null, t('roles.assign')), assign.el) : null,
    ),
  );

  if (can('roles.view')) loadRoles();
  if (query.get('user')) showUser(query.get('user'));
}

/** A grid of checkboxes: one row per section, view and edit columns. */
function permissionGrid() {
  const el = h('div', { class: 'perm-grid', role: 'group' }, h('p', { class: 'muted' }, t('common.loading')));
  const boxes = [];
  api('/permissions')
    .then((all) => {
      const sections = new Map();
      for (const p of all) {
        if (!sections.has(p.section)) sections.set(p.section, { description: p.description, items: [] });
        sections.get(p.section).items.push(p);
      }
      replace(
        el,
        [...sections].map(([section, info]) =>
          h(
            'div',
            { class: 'perm-row' },
            h(
              'div',
              { class: 'perm-name' },
              h('strong', null, section),
              h('span', { class: 'muted small' }, info.description),
            ),
            info.items.map((p) => {
              const box = h('input', { type: 'checkbox', value: p.permission, id: `perm-${p.permission}` });
              // Edit implies view on the server; say so by ticking view along with edit.
              box.addEventListener('change', () => {
                if (box.checked && p.permission.endsWith('.edit')) {
                  const view = boxes.find((b) => b.value === `${section}.view`);
                  if (view) view.checked = true;
                }
              });
              boxes.push(box);
              return h('label', { class: 'perm-box', for: box.id }, box, ` ${p.permission.split('.')[1]}`);
            }),
          ),
        ),
      );
    })
    .catch((error) => replace(el, problemBox(error)));
  return { el, value: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}
