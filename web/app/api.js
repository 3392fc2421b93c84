// The HTTP client: one `api()` for every call of /api/v1. It adds the bearer token,
// speaks JSON (and multipart for photo uploads), turns `application/problem+json`
// answers into a thrown `ApiError` (code, detail, field errors, import rows), and makes
// Idempotency-Keys.

import { session } from './session.js';

const BASE = '/api/v1';

/** A refused or failed call. `code` is the server's stable code, or `network`. */
export class ApiError extends Error {
  constructor({ status = 0, code = 'network', detail = '', title = '', errors = [], rows = [], retryAfter = null }) {
    super(detail || title || code);
    this.status = status;
    this.code = code;
    this.detail = detail || title || code;
    this.errors = errors ?? [];
    this.rows = rows ?? [];
    this.retryAfter = retryAfter;
  }
}

let unauthorizedHandler = () => {};
/** What to do when the session has ended (401 on a call that needed it). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/**
 * Calls the API. Options:
 * - `method` (GET), `query` (object; null/'' values are left out),
 * - `body`: an object (sent as JSON), a string with `contentType` (e.g. text/csv), or
 *   `FormData` (multipart: the browser writes the boundary into the Content-Type),
 * - `idempotencyKey`: sent as `Idempotency-Key`,
 * - `as`: `json` (default), `blob` (photos), `none`,
 * - `signal`: an AbortSignal, `auth`: false for the login calls.
 */
export async function api(path, options = {}) {
  const { method = 'GET', query, body, contentType, idempotencyKey, as = 'json', signal, auth = true } = options;
  const url = new URL(BASE + path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  const headers = { Accept: 'application/json, application/problem+json' };
  const token = session.token();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let payload;
  if (body !== undefined) {
    if (body instanceof FormData) {
      payload = body;
    } else if (typeof body === 'string') {
      payload = body;
      headers['Content-Type'] = contentType ?? 'text/plain';
    } else {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
  }

  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError({ code: 'network', detail: String(err.message || err) });
  }

  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401 && auth && token) unauthorizedHandler(problem);
    throw problem;
  }
  if (as === 'none' || response.status === 204) return null;
  if (as === 'blob') return response.blob();
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

async function readProblem(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): keep the status text.
  }
  return new ApiError({
    status: response.status,
    code: body.code ?? `http_${response.status}`,
    detail: body.detail ?? response.statusText,
    title: body.title,
    errors: body.errors,
    rows: body.rows,
    retryAfter: body.retry_after ?? null,
  });
}

/**
 * The multipart body of an upload with photos (`registerSale`, `submitTask`): `data` is
 * sent as the JSON part the server reads, `files` maps a part name to a File or a list
 * of Files (`{ photo: file }`, `{ photos: [a, b] }`).
 */
export function uploadBody(data, files = {}) {
  const body = new FormData();
  body.append('data', JSON.stringify(data));
  for (const [name, value] of Object.entries(files)) {
    for (const file of [value].flat()) if (file) body.append(name, file, file.name || name);
  }
  return body;
}

/**
 * A fresh Idempotency-Key. `crypto.randomUUID` exists only in secure contexts
 * (https, localhost); a plain-http intranet deployment gets the same from
 * getRandomValues.
 */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Runs `tasks` (functions returning promises) with at most `limit` in flight. */
export async function inParallel(tasks, limit = 4) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await tasks[index]() };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
