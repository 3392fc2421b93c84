// Downloads a file the API streams (reports, printed code batches): fetched with the
// session's token (a plain link could not carry it) and handed to the browser to save.

import { h } from '../dom.js';
import { api } from '../api.js';

/** Fetches `path` (with `query`) and saves it as `name`; returns the size in bytes. */
export async function download(path, name, query = {}) {
  const blob = await api(path, { query, as: 'blob' });
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The browser reads the blob after the click returns; give it time before freeing it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}
