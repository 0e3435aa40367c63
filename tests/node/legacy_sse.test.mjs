// The HTTP+SSE transport of MCP 2024-11-05 (issue 15): the official SDK
// 1.32 SSEClientTransport (GET /sse, the `endpoint` event, POST to it) for
// list, call, progress and elicitation; a session that crashes continues on
// its stream; unknown streams, wrong methods and other Origins are refused.
// MCPVISOR_BIN names the binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import { startServer, stopServer } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
let server;
let base;

before(async () => {
  server = await startServer(BIN, ['--tools', 'drill']);
  base = `http://127.0.0.1:${server.port}`;
});

after(async () => { await stopServer(server); });

test('sdk 1.32 SSEClientTransport: list, call, progress, elicitation, and a crash the session survives', async () => {
  const client = new Client({ name: 'legacy', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    assert.equal(req.params.message, 'Old or new?');
    return { action: 'accept', content: { answer: 'old' } };
  });
  const transport = new SSEClientTransport(new URL(`${base}/sse`));
  await client.connect(transport);
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'countdown'));
  const r = await client.callTool({ name: 'echo', arguments: { text: 'by the old way' } });
  assert.equal(r.content[0].text, 'by the old way');
  const progress = [];
  await client.callTool({ name: 'countdown', arguments: { seconds: 2 } }, undefined,
                        { onprogress: (p) => progress.push(p.progress) });
  assert.ok(progress.length >= 2, `progress: ${progress}`);
  const e = await client.callTool({ name: 'ask_user', arguments: { question: 'Old or new?' } });
  assert.equal(e.content[0].text, 'old');
  // the session's actor crashes: this call gets the restarted-session
  // error, and the session goes on on the same stream
  await assert.rejects(client.callTool({ name: 'crash', arguments: {} }), /restarted/);
  const after = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
  assert.equal(after.content[0].text, 'still here');
  await client.close();
});

test('unknown streams, wrong methods and other Origins are refused', async () => {
  const post = (path, headers = {}) => fetch(`${base}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
  assert.equal((await post('/messages?sessionId=nope')).status, 404);
  assert.equal((await post('/messages')).status, 404);
  assert.equal((await post('/sse')).status, 405);
  assert.equal((await fetch(`${base}/messages`)).status, 405);
  const evil = await fetch(`${base}/sse`, { headers: { Origin: 'http://evil.example' } });
  assert.equal(evil.status, 403);
  // a stream's endpoint takes messages for that stream only
  const ac = new AbortController();
  const res = await fetch(`${base}/sse`, { signal: ac.signal, headers: { Accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  const endpoint = text.match(/event: endpoint\ndata: (\S+)/)[1];
  assert.match(endpoint, /^\/messages\?sessionId=[A-Za-z0-9_-]{22}$/);
  const wrongType = await fetch(`${base}${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' },
                                                        body: 'hi' });
  assert.equal(wrongType.status, 415);
  const ok = await post(endpoint);
  assert.equal(ok.status, 202);
  // malformed JSON is taken (202) and answered on the stream with a parse error
  const bad = await fetch(`${base}${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                  body: '{"jsonrpc":' });
  assert.equal(bad.status, 202);
  while (!text.includes('-32700')) text += new TextDecoder().decode((await reader.read()).value);
  // a body over the limit is refused before it reaches the session
  // (only the head is sent: the answer comes from the declared length)
  const big = await new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1', () => sock.write(
      `POST ${endpoint} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${5 << 20}\r\n\r\n`));
    let got = '';
    sock.on('data', (d) => { got += d; if (got.includes('\r\n')) { sock.destroy(); resolve(got); } });
    sock.on('error', reject);
  });
  assert.match(big, /^HTTP\/1\.1 413 /);
  ac.abort();
});
