// MCP over WebSocket (issue 15): the official SDK 1.32
// WebSocketClientTransport (subprotocol mcp, one JSON-RPC message per text
// frame) for list, call, progress, cancellation and elicitation, against
// the real binary; then frames a client should not send (binary, malformed
// JSON, oversized), a request without the subprotocol or from another
// Origin, and a client that never reads its frames. MCPVISOR_BIN names the
// binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import { startServer, stopServer, until } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
let server;
let ws;

before(async () => {
  server = await startServer(BIN, ['--tools', 'default', '--max-body-bytes', '65536',
                                    '--max-queued-bytes', '262144']);
  ws = new URL(`ws://127.0.0.1:${server.port}/mcp`);
});

after(async () => { await stopServer(server); });

async function sdk(capabilities = {}) {
  const client = new Client({ name: 'ws-test', version: '1.0.0' }, { capabilities });
  const transport = new WebSocketClientTransport(ws);
  await client.connect(transport);
  return client;
}

/** A raw WebSocket (Node's own) that records what it receives. */
function raw(protocols = 'mcp', headers) {
  const sock = new WebSocket(ws, protocols);
  const got = [];
  sock.onmessage = (e) => got.push(e.data);
  const closed = new Promise((resolve) => { sock.onclose = (e) => resolve({ code: e.code, reason: e.reason }); });
  const opened = new Promise((resolve, reject) => {
    sock.onopen = resolve;
    sock.onerror = () => reject(new Error('no upgrade'));
  });
  return { sock, got, closed, opened };
}

const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

test('sdk 1.32 over WebSocket: list, call, progress, cancellation, elicitation', async () => {
  const client = await sdk({ elicitation: {} });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    assert.equal(req.params.message, 'Which transport?');
    return { action: 'accept', content: { answer: 'websocket' } };
  });
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'countdown'));
  const r = await client.callTool({ name: 'echo', arguments: { text: 'over a socket' } });
  assert.equal(r.content[0].text, 'over a socket');
  const progress = [];
  await client.callTool({ name: 'countdown', arguments: { seconds: 2 } }, undefined,
                        { onprogress: (p) => progress.push(p.progress) });
  assert.ok(progress.length >= 2, `progress: ${progress}`);
  // pipelined: several calls in flight on the one connection
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    client.callTool({ name: 'echo', arguments: { text: `#${i}` } })));
  assert.deepEqual(many.map((m) => m.content[0].text), Array.from({ length: 20 }, (_, i) => `#${i}`));
  const e = await client.callTool({ name: 'ask_user', arguments: { question: 'Which transport?' } });
  assert.equal(e.content[0].text, 'websocket');
  const ac = new AbortController();
  const seen = [];
  const call = client.callTool({ name: 'countdown', arguments: { seconds: 10 } }, undefined,
                               { signal: ac.signal, onprogress: (p) => seen.push(p.progress) });
  await until(() => seen.length >= 1);
  ac.abort();
  await assert.rejects(call);
  const atAbort = seen.length;
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal(seen.length, atAbort, 'no progress after cancellation');
  assert.equal((await client.callTool({ name: 'echo', arguments: { text: 'after' } })).content[0].text, 'after');
  await client.close();
});

test('malformed JSON gets a JSON-RPC error and the session goes on; a binary frame closes with 1003', async () => {
  const c = raw();
  await c.opened;
  c.sock.send(init);
  await until(() => c.got.length >= 1);
  assert.match(c.got[0], /"protocolVersion"/);
  c.sock.send('{"jsonrpc":"2.0","id":2,"method":');
  await until(() => c.got.length >= 2);
  assert.match(c.got[1], /-32700/);
  c.sock.send('{"jsonrpc":"2.0","id":3,"method":"ping"}');
  await until(() => c.got.length >= 3);
  assert.equal(JSON.parse(c.got[2]).id, 3);
  c.sock.send(new Uint8Array([1, 2, 3]));
  const closed = await c.closed;
  assert.equal(closed.code, 1003);
});

test('a message over the body limit closes with 1009', async () => {
  const c = raw();
  await c.opened;
  c.sock.send(init);
  await until(() => c.got.length >= 1);
  c.sock.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(100000) } }));
  const closed = await c.closed;
  assert.equal(closed.code, 1009);
});

test('no subprotocol mcp, another Origin, or another path: refused before the upgrade', async () => {
  const handshake = (path, headers) => new Promise((resolve) => {
    const sock = connect(server.port, '127.0.0.1', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`
                 + `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`
                 + `Sec-WebSocket-Version: 13\r\n${headers}\r\n`);
    });
    let text = '';
    sock.on('data', (d) => { text += d; if (text.includes('\r\n\r\n')) { sock.destroy(); resolve(text); } });
    sock.on('error', () => resolve(text));
  });
  assert.match(await handshake('/mcp', ''), /^HTTP\/1\.1 400/);
  assert.match(await handshake('/mcp', 'Sec-WebSocket-Protocol: mcp\r\nOrigin: http://evil.example\r\n'),
               /^HTTP\/1\.1 403/);
  assert.match(await handshake('/other', 'Sec-WebSocket-Protocol: mcp\r\n'), /^HTTP\/1\.1 404/);
  assert.match(await handshake('/mcp', 'Sec-WebSocket-Protocol: mcp\r\n'), /^HTTP\/1\.1 101/);
});

test('a client that never reads is not read either; memory stays bounded and others are served', async () => {
  // a raw WebSocket client: the upgrade, then masked text frames, and no reading
  const sock = connect(server.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.pause();
  sock.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`
             + `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`
             + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mcp\r\n\r\n');
  const frame = (text) => {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    return Buffer.concat([head, mask, body]);
  };
  sock.write(frame(init));
  sock.write(frame('{"jsonrpc":"2.0","method":"notifications/initialized"}'));
  // each tools/list answer is a few KB: far more than the 256 KiB the
  // server may queue for this client
  const rssBefore = await rss();
  let written = 0;
  for (let i = 0; i < 4000; i++) {
    if (!sock.write(frame(`{"jsonrpc":"2.0","id":${i + 10},"method":"tools/list"}`))) {
      await Promise.race([new Promise((r) => sock.once('drain', r)), new Promise((r) => setTimeout(r, 200))]);
    }
    written++;
  }
  await new Promise((r) => setTimeout(r, 1000));
  const grown = (await rss()) - rssBefore;
  assert.ok(grown < 64 * 1024 * 1024, `RSS grew by ${grown} bytes`);
  // another client is served meanwhile
  const client = await sdk();
  assert.equal((await client.callTool({ name: 'echo', arguments: { text: 'still here' } })).content[0].text,
               'still here');
  await client.close();
  sock.destroy();
  assert.ok(written > 0);
});

async function rss() {
  const { readFileSync } = await import('node:fs');
  const status = readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)[1]) * 1024;
}
