// A filter bar over a list: search boxes and selects that reload the list as they
// change (typing is debounced so each keystroke does not cost a request).

import { h, uid, debounce } from '../dom.js';

/**
 * `controls`: [{ name, label, type: 'search' | 'select' | 'date' | 'number' | 'checkbox',
 * options, value }]; a checkbox's value is 'true' when ticked, else ''.
 * `onChange(values)` runs after a change. Returns { el, values(), setOptions(name, options) }.
 */
export function filterBar({ controls, onChange }) {
  const inputs = new Map();
  const fire = () => onChange(values());
  const typed = debounce(fire, 300);

  const el = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        typed.cancel();
        fire();
      },
    },
    controls.map((c) => {
      const id = uid(c.name);
      let input;
      if (c.type === 'select') {
        input = h(
          'select',
          { id, name: c.name, onchange: fire },
          c.options.map((o) =>
            h('option', { value: String(o.value), selected: String(o.value) === String(c.value ?? '') }, o.label),
          ),
        );
      } else if (c.type === 'checkbox') {
        input = h('input', { id, name: c.name, type: 'checkbox', checked: Boolean(c.value), onchange: fire });
        inputs.set(c.name, input);
        return h('div', { class: 'filter filter-check' }, input, h('label', { for: id }, c.label));
      } else {
        input = h('input', {
          id,
          name: c.name,
          type: c.type ?? 'search',
          value: c.value ?? '',
          oninput: c.type === 'date' ? fire : typed,
          autocomplete: 'off',
        });
      }
      inputs.set(c.name, input);
      return h('div', { class: 'filter' }, h('label', { for: id }, c.label), input);
    }),
  );

  function values() {
    return Object.fromEntries(
      [...inputs].map(([name, input]) => [
        name,
        input.type === 'checkbox' ? (input.checked ? 'true' : '') : input.value.trim(),
      ]),
    );
  }

  /** Replaces a select's options (choices that arrive later), keeping the chosen one. */
  function setOptions(name, options) {
    const select = inputs.get(name);
    const current = select.value;
    select.replaceChildren(...options.map((o) => h('option', { value: String(o.value) }, o.label)));
    if (options.some((o) => String(o.value) === current)) select.value = current;
  }

  return { el, values, setOptions };
}
