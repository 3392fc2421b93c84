// A development server for the UI: serves web/app from disk (edit, reload, no Rust
// rebuild) and forwards /api, /healthz and WebSocket upgrades to a running Stimul
// server. Mirrors src/web.rs: unknown paths without a dot get index.html.
//
//   API_URL=http://127.0.0.1:18090 PORT=18091 node web/tests/dev-proxy.mjs
//
// Not used in production: the server embeds web/app at build time.

import http from 'node:http';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../app/', import.meta.url));
const api = new URL(process.env.API_URL ?? 'http://127.0.0.1:18090');
const port = Number(process.env.PORT ?? 18091);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};
const forwarded = (path) =>
  path.startsWith('/api/') || path === '/healthz' || path === '/readyz' || path.startsWith('/problems/');

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (forwarded(path)) {
    const upstream = http.request(
      { host: api.hostname, port: api.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end('upstream down');
    });
    req.pipe(upstream);
    return;
  }
  const file = normalize(join(root, path));
  const looksLikeFile = extname(path) !== '';
  try {
    if (!file.startsWith(root)) throw new Error('outside');
    const body = await readFile(looksLikeFile ? file : join(root, 'index.html'));
    res.writeHead(200, {
      'content-type': types[looksLikeFile ? extname(file) : '.html'] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
});

// WebSocket: pass the upgrade through as raw bytes.
server.on('upgrade', (req, socket, head) => {
  const upstream = net.connect(Number(api.port), api.hostname, () => {
    upstream.write(
      `${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n')}\r\n\r\n`,
    );
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  });
  const close = () => {
    socket.destroy();
    upstream.destroy();
  };
  upstream.on('error', close);
  socket.on('error', close);
});

server.listen(port, '127.0.0.1', () => console.log(`UI on http://127.0.0.1:${port}, API at ${api.origin}`));
