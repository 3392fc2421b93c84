// Photos both ways: a picker that takes pictures with the phone's camera (or files on a
// desktop) and previews them before upload, and a gallery of stored photos by SHA-256.
// Stored photos are fetched with the bearer token and shown as blob URLs (an <img src>
// could not send the token); `dispose()` frees them.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';

/** What the server accepts (content-checked there as well). */
const ACCEPT = 'image/jpeg,image/png,image/webp';

/**
 * A photo picker for a `form` custom field. `multiple`: several photos (added one
 * shot at a time, as a phone camera gives them), else one that a new pick replaces.
 * Returns { el, value() → File[], clear() }.
 */
export function photoPicker({ multiple = false, max = 10 } = {}) {
  let files = [];
  let urls = [];
  const previews = h('div', { class: 'photos picker-previews' });
  // The native input says "No file chosen" even with photos picked (it is emptied after
  // each pick), so it hides inside a button-like label and the previews speak instead.
  const input = h('input', {
    type: 'file',
    class: 'visually-hidden',
    accept: ACCEPT,
    // The rear camera on phones; a desktop browser opens the file chooser instead.
    capture: 'environment',
    multiple,
    onchange: () => {
      const picked = [...input.files];
      files = multiple ? [...files, ...picked].slice(0, max) : picked.slice(0, 1);
      input.value = ''; // the same photo may be picked again after removing it
      render();
    },
  });
  const button = h('label', { class: 'button secondary picker-button' }, input, h('span', null, ''));
  // tabindex: the form focuses the field when it has an error.
  const el = h('div', { class: 'picker', role: 'group', tabindex: -1 }, button, previews);

  function render() {
    button.lastChild.textContent = t(
      files.length && multiple ? 'photo.addMore' : files.length ? 'photo.retake' : 'photo.take',
    );
    button.hidden = multiple && files.length >= max;
    urls.forEach((url) => URL.revokeObjectURL(url));
    urls = files.map((file) => URL.createObjectURL(file));
    replace(
      previews,
      files.map((file, index) =>
        h(
          'figure',
          { class: 'photo picker-photo' },
          h('img', { src: urls[index], alt: file.name }),
          h(
            'button',
            {
              type: 'button',
              class: 'icon',
              'aria-label': t('photo.remove', { name: file.name }),
              onclick: () => {
                files = files.filter((_, i) => i !== index);
                render();
              },
            },
            '\u00d7',
          ),
        ),
      ),
    );
  }

  render();
  return {
    el,
    input,
    value: () => [...files],
    clear() {
      files = [];
      render();
    },
  };
}

/**
 * Stored photos as thumbnails that open full size; `alt` and `missing` are the texts of
 * a photo and of one that cannot be loaded. Returns { el, dispose() }.
 */
export function photoGallery(hashes, { alt = t('photo.stored'), missing = t('photo.missing') } = {}) {
  const urls = [];
  let disposed = false;
  const el = h('div', { class: 'photos' });
  for (const sha of hashes) {
    const img = h('img', { alt, loading: 'lazy' });
    const link = h(
      'a',
      {
        href: '#',
        class: 'photo',
        onclick: (e) => {
          e.preventDefault();
          if (img.src) window.open(img.src, '_blank', 'noopener');
        },
      },
      img,
    );
    el.append(link);
    api(`/photos/${sha}`, { as: 'blob' })
      .then((blob) => {
        if (disposed) return;
        const url = URL.createObjectURL(blob);
        urls.push(url);
        img.src = url;
      })
      .catch(() => link.replaceWith(h('span', { class: 'photo photo-missing' }, missing)));
  }
  return {
    el,
    dispose() {
      disposed = true;
      urls.forEach((url) => URL.revokeObjectURL(url));
    },
  };
}
