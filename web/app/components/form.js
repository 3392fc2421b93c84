// The one form of the UI: labelled fields, a busy state while submitting, and the
// server's answer shown where it belongs: a field's error under that field, the rest
// (the `detail`, unknown fields, import rows) in an alert above the buttons.
// Field names are the API's own, so a problem's `errors[].field` finds its input.

import { h, replace, uid } from '../dom.js';
import { t } from '../i18n.js';
import { newIdempotencyKey } from '../api.js';
import { parseAmount } from '../format.js';
import { problemBox } from './problem.js';

/**
 * A field: { name, label, type = 'text', required, value, options: [{value, label}]
 * (select), hint, placeholder, autocomplete, inputmode, rows (textarea), allowNegative
 * (amount), attrs }. Types: text, password, tel, number, date, select, textarea,
 * checkbox, file, amount (a decimal string with at most two places), and custom
 * (`control: { el, value() }`, for widgets such as a permission grid).
 */
function buildField(spec) {
  const id = uid(spec.name);
  const type = spec.type ?? 'text';
  const common = {
    id,
    name: spec.name,
    'aria-describedby': `${id}-msg`,
    'aria-required': spec.required ? 'true' : null,
    placeholder: spec.placeholder,
    autocomplete: spec.autocomplete,
    ...spec.attrs,
  };
  let input;
  if (type === 'custom') {
    input = spec.control.el;
    input.id = id;
    input.setAttribute('aria-describedby', `${id}-msg`);
  } else if (type === 'select') {
    input = h('select', common);
    setOptions(input, spec.options ?? [], spec.value);
  } else if (type === 'textarea') {
    input = h('textarea', {
      ...common,
      rows: spec.rows ?? 4,
      spellcheck: spec.spellcheck ?? null,
      value: spec.value ?? '',
    });
  } else if (type === 'checkbox') {
    input = h('input', { ...common, type: 'checkbox', checked: Boolean(spec.value) });
  } else if (type === 'amount') {
    input = h('input', { ...common, type: 'text', inputmode: 'decimal', value: spec.value ?? '' });
  } else {
    input = h('input', { ...common, type, inputmode: spec.inputmode, value: spec.value ?? '' });
  }
  const message = h('div', { class: 'field-error', id: `${id}-msg`, 'aria-live': 'polite' });
  const hint = spec.hint ? h('div', { class: 'hint' }, spec.hint) : null;
  const wrapper =
    type === 'checkbox'
      ? h('div', { class: 'field field-check' }, input, h('label', { for: id }, spec.label), hint, message)
      : h(
          'div',
          { class: 'field' },
          h(
            'label',
            { for: id },
            spec.label,
            spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null,
          ),
          input,
          hint,
          message,
        );
  return { spec, type, input, message, wrapper };
}

/** Replaces a select's options, keeping the chosen value when it is still offered. */
function setOptions(select, options, selected) {
  const current = String(selected ?? select.value ?? '');
  replace(
    select,
    options.map((o) => h('option', { value: String(o.value) }, o.label)),
  );
  if (options.some((o) => String(o.value) === current)) select.value = current;
}

function readValue(field) {
  const { input, type } = field;
  if (type === 'custom') return field.spec.control.value();
  if (type === 'checkbox') return input.checked;
  if (type === 'file') return input.files?.[0] ?? null;
  return input.value.trim();
}

/**
 * Builds a form. Options:
 * - `fields`: field specs (above);
 * - `submit`: the button label; `extra`: more buttons/nodes after it;
 * - `onSubmit(values, { idempotencyKey })`: async; a throw shows the problem;
 * - `onSuccess(result, values)`; `resetOnSuccess`;
 * - `validate(values)` → [{field, message}] checked before sending;
 * - `idempotent`: make an Idempotency-Key per submit. A retry of the same values after
 *   a network failure keeps the key, so a credit that did reach the server is not
 *   made twice.
 * Returns { el, values(), input(name), setValue(name, v), setOptions(name, opts),
 * showProblem(err), clearProblem(), submit() }.
 */
export function form({
  fields,
  submit,
  extra = null,
  onSubmit,
  onSuccess,
  resetOnSuccess = false,
  validate,
  idempotent = false,
  className = '',
}) {
  const built = fields.map(buildField);
  const byName = new Map(built.map((f) => [f.spec.name, f]));
  const alert = h('div', { class: 'form-alert' });
  const button = h('button', { type: 'submit' }, submit);
  const el = h(
    'form',
    { class: `form ${className}`.trim(), novalidate: true },
    built.map((f) => f.wrapper),
    alert,
    h('div', { class: 'actions' }, button, extra),
  );
  let pending = null; // { key, snapshot } of a submit whose outcome is unknown

  function values() {
    return Object.fromEntries(built.map((f) => [f.spec.name, readValue(f)]));
  }

  function clearProblem() {
    replace(alert);
    for (const f of built) {
      replace(f.message);
      f.input.removeAttribute('aria-invalid');
    }
  }

  function markField(f, message) {
    f.message.textContent = message;
    f.input.setAttribute('aria-invalid', 'true');
  }

  /** Puts field errors under their fields; the rest goes in the alert. */
  function showProblem(error) {
    clearProblem();
    const unclaimed = [];
    for (const e of error?.errors ?? []) {
      const f =
        byName.get(e.field) ??
        built.find((b) => e.field.startsWith(`${b.spec.name}.`) || e.field.startsWith(`${b.spec.name}[`));
      if (f) markField(f, e.message);
      else unclaimed.push(e);
    }
    replace(alert, problemBox(error, { unclaimed }));
    (built.find((f) => f.input.getAttribute('aria-invalid'))?.input ?? alert).focus();
  }

  /** Client-side checks: required fields, amounts, then the form's own `validate`. */
  function check(vals) {
    const errors = [];
    for (const f of built) {
      const value = vals[f.spec.name];
      const missing = value === '' || value === null || value === false || (Array.isArray(value) && value.length === 0);
      if (f.spec.required && missing) {
        errors.push({ field: f.spec.name, message: t('form.required') });
      } else if (f.type === 'amount' && value !== '') {
        const amount = parseAmount(value, { allowNegative: f.spec.allowNegative });
        if (amount === null) errors.push({ field: f.spec.name, message: t('form.amount') });
        else vals[f.spec.name] = amount;
      }
    }
    return errors.concat(errors.length ? [] : (validate?.(vals) ?? []));
  }

  async function doSubmit() {
    if (button.disabled) return;
    clearProblem();
    const vals = values();
    const errors = check(vals);
    if (errors.length) {
      showProblem({ detail: t('form.fix'), errors });
      return;
    }
    // Files are compared by name, size and date: another photo is another request.
    const snapshot = JSON.stringify(vals, (_, v) => (v instanceof File ? [v.name, v.size, v.lastModified] : v));
    const key = idempotent ? (pending?.snapshot === snapshot ? pending.key : newIdempotencyKey()) : null;
    pending = { key, snapshot };
    button.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      const result = await onSubmit(vals, { idempotencyKey: key });
      pending = null;
      if (resetOnSuccess) el.reset();
      onSuccess?.(result, vals);
    } catch (error) {
      // A refusal settles the key; after a network failure, a server error or a request
      // still in progress the outcome is unknown, so a retry reuses the key.
      const unknown = error.code === 'network' || error.code === 'request_in_progress' || error.status >= 500;
      if (!unknown) pending = null;
      showProblem(error);
    } finally {
      button.disabled = false;
      el.removeAttribute('aria-busy');
    }
  }

  el.addEventListener('submit', (event) => {
    event.preventDefault();
    doSubmit();
  });
  alert.tabIndex = -1;

  return {
    el,
    values,
    input: (name) => byName.get(name)?.input,
    field: (name) => byName.get(name)?.wrapper,
    setValue(name, value) {
      const f = byName.get(name);
      if (f?.type === 'checkbox') f.input.checked = Boolean(value);
      else if (f) f.input.value = value ?? '';
    },
    setOptions: (name, options, selected) => setOptions(byName.get(name).input, options, selected),
    showProblem,
    clearProblem,
    submit: doSubmit,
    button,
  };
}

/** Options for a select built from a list of `{id, name}` (regions, partners, …). */
export function namedOptions(items, { none = null } = {}) {
  const options = items.map((i) => ({ value: i.id, label: i.name }));
  return none === null ? options : [{ value: '', label: none }, ...options];
}

/**
 * A group of options for a `custom` field: radio buttons, or checkboxes with
 * `multiple`. `value()` is the chosen 0-based indices (the shape quiz and survey
 * answers take). Returns { el, value() }.
 */
export function choiceGroup(options, { multiple = false, label = '' } = {}) {
  const name = uid('choice');
  const inputs = options.map((option) => {
    const id = uid(name);
    const input = h('input', { id, type: multiple ? 'checkbox' : 'radio', name });
    return { input, el: h('div', { class: 'choice' }, input, h('label', { for: id }, option)) };
  });
  return {
    el: h(
      'div',
      { class: 'choices', role: multiple ? 'group' : 'radiogroup', 'aria-label': label, tabindex: -1 },
      inputs.map((i) => i.el),
    ),
    value: () => inputs.flatMap((i, index) => (i.input.checked ? [index] : [])),
  };
}

/**
 * Checkboxes for a `custom` field whose value is a list of ids or names (a reward's
 * regions, levels, roles). `options`: [{value, label}]; `selected`: the values ticked
 * now. A selected value that is not among the options is kept as its own box, so
 * saving never drops what could not be named. Returns { el, value() }.
 */
export function checkGroup(options, selected = [], { label = '' } = {}) {
  const name = uid('check');
  const known = new Set(options.map((o) => String(o.value)));
  const all = [
    ...options,
    ...selected.filter((v) => !known.has(String(v))).map((v) => ({ value: v, label: `#${v}` })),
  ];
  const chosen = new Set(selected.map(String));
  const inputs = all.map((option) => {
    const id = uid(name);
    const input = h('input', { id, type: 'checkbox', name, checked: chosen.has(String(option.value)) });
    return { option, input, el: h('div', { class: 'choice' }, input, h('label', { for: id }, option.label)) };
  });
  return {
    el: h(
      'div',
      { class: 'choices choices-row', role: 'group', 'aria-label': label, tabindex: -1 },
      inputs.map((i) => i.el),
    ),
    value: () => inputs.filter((i) => i.input.checked).map((i) => i.option.value),
  };
}
