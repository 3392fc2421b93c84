// DOM building without innerHTML: every page builds its elements through `h`, so text
// from the API always ends up in text nodes and can never become markup.

/**
 * Creates an element. `props` keys:
 * - `class`: a string; `style`: an object of CSS properties;
 * - `on<Event>` (e.g. `onclick`): event listeners;
 * - `dataset`: an object copied to `data-*`;
 * - anything else: set as an attribute (`true` → empty attribute; `false`/null → none),
 *   except `value`, `checked`, `disabled`, `selected`, which are set as properties.
 * Children may be nodes, strings/numbers (text), arrays, or null/false (skipped).
 */
export function h(tag, props = null, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'style') Object.assign(el.style, value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (['value', 'checked', 'disabled', 'selected', 'indeterminate'].includes(key)) {
        el[key] = value;
      } else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (same rules as `h`). */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A unique id for label/field pairs. */
let counter = 0;
export function uid(prefix = 'f') {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Runs `fn` at most once per `ms`, at the end of a burst (e.g. search typing). */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
