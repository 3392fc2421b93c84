// A filter bar over a list: search boxes and selects that reload the list as they
// change (typing is debounced so each keystroke does not cost a request).

import { h, uid, debounce } from '../dom.js';

/**
 * `controls`: [{ name, label, type: 'search' | 'select' | 'date', options, value }].
 * `onChange(values)` runs after a change. Returns { el, values() }.
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
    return Object.fromEntries([...inputs].map(([name, input]) => [name, input.value.trim()]));
  }

  return { el, values };
}
