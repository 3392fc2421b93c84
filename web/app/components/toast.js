// Short status messages ("Points awarded", "Import done") in one polite live region,
// so screen readers announce them and nobody has to dismiss them.

import { h } from '../dom.js';

let region = null;

/** Shows `message` for a few seconds. `kind`: info | success | error. */
export function notify(message, kind = 'info') {
  if (!region) {
    region = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const toast = h('div', { class: `toast toast-${kind}` }, message);
  region.append(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? 8000 : 4000);
}
