// The live connection: one WebSocket per tab (`/api/v1/ws?token=…`), shared by every
// page. It owns the topic subscriptions, so pages only say what they watch:
// - reconnects with exponential backoff and jitter, then subscribes to every topic again
//   (each answers with a fresh snapshot, so nothing missed while offline is lost);
// - checks each topic's `seq`: a gap means missed events, so it subscribes again;
// - pings every 20 s and treats a missing pong as a dead connection (phones switching
//   networks leave sockets that look open but are not).
// Frames without a topic (`decided`, item errors, `pong`) go to `onFrame` listeners.

import { session } from './session.js';

const PING_EVERY_MS = 20_000;
const PONG_TIMEOUT_MS = 10_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

/** topic → { params, handlers: Set, seq } */
const topics = new Map();
const frameListeners = new Set();
const statusListeners = new Set();

let socket = null;
let status = 'offline'; // offline | connecting | online
let attempts = 0;
let reconnectTimer = null;
let pingTimer = null;
let pongTimer = null;

function setStatus(next) {
  if (status === next) return;
  status = next;
  for (const listener of statusListeners) listener(status);
}

/** Current connection state and a way to follow it (returns an unsubscribe function). */
export function connectionStatus() {
  return status;
}
export function onStatus(listener) {
  statusListeners.add(listener);
  listener(status);
  return () => statusListeners.delete(listener);
}

/** Listens to frames that are not about a topic (`decided`, errors with `item_id`). */
export function onFrame(listener) {
  frameListeners.add(listener);
  return () => frameListeners.delete(listener);
}

/**
 * Watches a topic. `handler` gets `{type:'snapshot', data, seq}`,
 * `{type:'event', event, data, seq}` or `{type:'error', code, message}`.
 * `params` are sent with the subscribe frame (e.g. `{capacity}` for `moderation`).
 * Returns a function that stops watching.
 */
export function subscribe(topic, handler, params = {}) {
  let entry = topics.get(topic);
  if (!entry) {
    entry = { params, handlers: new Set(), seq: null };
    topics.set(topic, entry);
  }
  entry.handlers.add(handler);
  entry.params = params;
  if (status === 'online') sendSubscribe(topic);
  else connect();
  return () => {
    entry.handlers.delete(handler);
    if (entry.handlers.size === 0 && topics.get(topic) === entry) {
      topics.delete(topic);
      send({ type: 'unsubscribe', topic });
    }
  };
}

/** Subscribes again with new parameters (a moderator changing capacity). */
export function resubscribe(topic, params) {
  const entry = topics.get(topic);
  if (!entry) return;
  if (params) entry.params = params;
  sendSubscribe(topic);
}

/** Sends a frame if connected; returns whether it went out. */
export function send(frame) {
  if (socket?.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

/** Closes the connection and forgets every topic (logout). */
export function reset() {
  topics.clear();
  clearTimeout(reconnectTimer);
  stopHeartbeat();
  if (socket) {
    socket.onclose = null;
    socket.close(1000, 'logout');
    socket = null;
  }
  attempts = 0;
  setStatus('offline');
}

function sendSubscribe(topic) {
  const entry = topics.get(topic);
  if (!entry) return;
  entry.seq = null; // the snapshot sets it
  send({ type: 'subscribe', topic, ...entry.params });
}

function connect() {
  if (socket || reconnectTimer || !session.token()) return;
  setStatus('connecting');
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(session.token())}`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    attempts = 0;
    setStatus('online');
    for (const topic of topics.keys()) sendSubscribe(topic);
    startHeartbeat();
  };
  ws.onmessage = (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    receive(frame);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    stopHeartbeat();
    scheduleReconnect();
  };
  ws.onerror = () => ws.close();
}

function scheduleReconnect() {
  if (topics.size === 0 || !session.token()) {
    setStatus('offline');
    return;
  }
  setStatus('connecting');
  // Full jitter: many phones losing a node at once must not come back in lockstep.
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempts);
  attempts += 1;
  const delay = BACKOFF_MIN_MS / 2 + Math.random() * ceiling;
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connect();
  }, delay);
}

function startHeartbeat() {
  stopHeartbeat();
  pingTimer = setInterval(() => {
    if (!send({ type: 'ping' })) return;
    clearTimeout(pongTimer);
    pongTimer = setTimeout(() => socket?.close(4000, 'no pong'), PONG_TIMEOUT_MS);
  }, PING_EVERY_MS);
}

function stopHeartbeat() {
  clearInterval(pingTimer);
  clearTimeout(pongTimer);
}

// When the phone comes back online, do not wait for the backoff timer.
window.addEventListener('online', () => {
  if (!socket && reconnectTimer) {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    attempts = 0;
    connect();
  }
});

function receive(frame) {
  if (frame.type === 'pong') {
    clearTimeout(pongTimer);
    return;
  }
  const entry = frame.topic ? topics.get(frame.topic) : null;
  if (!entry) {
    for (const listener of frameListeners) listener(frame);
    return;
  }
  if (frame.type === 'snapshot') {
    entry.seq = frame.seq;
  } else if (frame.type === 'event') {
    if (entry.seq === null) return; // a resubscription is under way: its snapshot will follow
    if (frame.seq !== entry.seq + 1) {
      sendSubscribe(frame.topic); // missed events: start over from a fresh snapshot
      return;
    }
    entry.seq = frame.seq;
  } else if (frame.type === 'unsubscribed') {
    return;
  }
  for (const handler of [...entry.handlers]) handler(frame);
}
