// Modal dialogs on the native <dialog>: focus is trapped and restored by the browser,
// Escape closes. Used for the small forms that act on one row (adjust points, reject).

import { h } from '../dom.js';
import { t } from '../i18n.js';

/**
 * Opens a modal with `title` and `content` (a node, or a function given `close` that
 * returns one). `onClose` runs however it closes. Returns `close`.
 */
export function openDialog({ title, content, onClose }) {
  const dialog = h('dialog', { class: 'dialog', 'aria-label': title });
  const close = () => dialog.close();
  dialog.append(
    h(
      'div',
      { class: 'dialog-head' },
      h('h2', null, title),
      h('button', { type: 'button', class: 'icon', 'aria-label': t('common.close'), onclick: close }, '\u00d7'),
    ),
    typeof content === 'function' ? content(close) : content,
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector('input, select, textarea')?.focus();
  return close;
}

/** Asks a yes/no question; resolves true on confirm. */
export function confirmDialog(question, { confirm = t('common.confirm'), danger = false } = {}) {
  return new Promise((resolve) => {
    let answer = false;
    openDialog({
      title: t('common.areYouSure'),
      onClose: () => resolve(answer),
      content: (close) =>
        h(
          'div',
          null,
          h('p', null, question),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                class: danger ? 'danger' : null,
                onclick: () => {
                  answer = true;
                  close();
                },
              },
              confirm,
            ),
            h('button', { type: 'button', class: 'secondary', onclick: close }, t('common.cancel')),
          ),
        ),
    });
  });
}
