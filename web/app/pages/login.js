// The login page: login + password, or phone + one-time SMS code (two steps). When a
// phone or login exists in several programs the server answers `program_required`,
// and the program field appears.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { form } from '../components/form.js';

export function mount(root, ctx) {
  const next = ctx.query.get('next');
  const done = (issued) => ctx.loggedIn(issued.token, next);
  const panel = h('div', { class: 'login-panel' });
  let mode = 'password';

  /** Shows the program field once the server says it is needed. */
  function revealProgram(f, error) {
    if (error.code === 'program_required') f.field('program').hidden = false;
    throw error;
  }
  const programField = {
    name: 'program',
    label: t('login.program'),
    hint: t('login.programHint'),
    autocomplete: 'off',
  };

  function passwordForm() {
    const f = form({
      fields: [
        {
          name: 'login',
          label: t('login.login'),
          required: true,
          autocomplete: 'username',
          attrs: { autocapitalize: 'none', spellcheck: 'false' },
        },
        {
          name: 'password',
          label: t('login.password'),
          type: 'password',
          required: true,
          autocomplete: 'current-password',
        },
        programField,
      ],
      submit: t('login.submit'),
      onSubmit: (v) =>
        api('/auth/login', {
          method: 'POST',
          auth: false,
          body: { login: v.login, password: v.password, program: v.program || null },
        }).catch((e) => revealProgram(f, e)),
      onSuccess: done,
    });
    f.field('program').hidden = true;
    return f.el;
  }

  function otpForms() {
    const box = h('div');
    const request = form({
      fields: [
        {
          name: 'phone',
          label: t('login.phone'),
          type: 'tel',
          required: true,
          autocomplete: 'tel',
          placeholder: '+79001234567',
        },
        programField,
      ],
      submit: t('login.sendCode'),
      onSubmit: (v) =>
        api('/auth/otp', { method: 'POST', auth: false, body: { phone: v.phone, program: v.program || null } }).catch(
          (e) => revealProgram(request, e),
        ),
      onSuccess: (answer, v) => replace(box, verifyForm(v, answer.expires_in)),
    });
    request.field('program').hidden = true;

    function verifyForm(sent, expiresIn) {
      const verify = form({
        fields: [
          {
            name: 'code',
            label: t('login.code'),
            required: true,
            inputmode: 'numeric',
            autocomplete: 'one-time-code',
            attrs: { maxlength: 6, pattern: '[0-9]*' },
          },
          { ...programField, value: sent.program },
        ],
        submit: t('login.submit'),
        extra: h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => replace(box, request.el) },
          t('login.otherPhone'),
        ),
        onSubmit: (v) =>
          api('/auth/otp/verify', {
            method: 'POST',
            auth: false,
            body: { phone: sent.phone, code: v.code, program: v.program || null },
          }).catch((e) => revealProgram(verify, e)),
        onSuccess: done,
      });
      verify.field('program').hidden = !sent.program;
      return h(
        'div',
        null,
        h('p', { class: 'muted' }, t('login.codeSent', { phone: sent.phone, min: Math.round(expiresIn / 60) })),
        verify.el,
      );
    }

    box.append(request.el);
    return box;
  }

  // Two ways in, as a pair of toggle buttons.
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': t('login.title') });
  function draw() {
    replace(
      tabs,
      [
        ['password', t('login.withPassword')],
        ['otp', t('login.withCode')],
      ].map(([key, label]) =>
        h(
          'button',
          {
            type: 'button',
            'aria-pressed': String(mode === key),
            class: mode === key ? 'tab active' : 'tab',
            onclick: () => {
              mode = key;
              draw();
            },
          },
          label,
        ),
      ),
    );
    replace(panel, mode === 'password' ? passwordForm() : otpForms());
    panel.querySelector('input')?.focus();
  }

  root.append(h('section', { class: 'card login' }, h('h1', null, t('login.title')), tabs, panel));
  draw();
}
