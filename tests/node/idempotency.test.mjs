// Idempotency keys (`_meta["dev.mcpvisor/idempotencyKey"]` on tools/call)
// against the real binary: the drill set's `bump` counts its runs, so a
// key sent twice, concurrently, and again after its session's actor
// crashed must show one run. MCPVISOR_BIN names the binary.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import { freePort, startServer, stopServer } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const KEY = 'dev.mcpvisor/idempotencyKey';
let s;
after(() => stopServer(s));

let nextId = 1;

async function post(headers, body) {
  const r = await fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  const json = text.startsWith('{') ? text : text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).pop();
  return { headers: r.headers, ...JSON.parse(json) };
}

/** A 2025-11-25 session; returns a function that calls a tool in it. */
async function session() {
  const init = await post({}, {
    jsonrpc: '2.0', id: nextId++, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'idem', version: '1' } },
  });
  const sid = init.headers.get('mcp-session-id');
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...h }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  const call = (name, args, key) => post(h, {
    jsonrpc: '2.0', id: nextId++, method: 'tools/call',
    params: { name, arguments: args, ...(key !== undefined ? { _meta: { [KEY]: key } } : {}) },
  });
  return { sid, call };
}

/** A stateless 2026-07-28 tools/call. */
function stateless(name, args, key) {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  if (key !== undefined) meta[KEY] = key;
  return post({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name }, {
    jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args, _meta: meta },
  });
}

const value = (r) => Number(r.result.content[0].text);

test('a key runs its call once: twice in a row, concurrently, after a crash, stateless', async () => {
  const admin = await freePort();
  s = await startServer(BIN, ['--tools', 'drill', '--admin', `127.0.0.1:${admin}`, '--scheduler-threads', '2']);
  const { sid, call } = await session();
  const counter = async () => value(await call('bump', {}));

  // the same key twice: the stored answer, one run
  const start = await counter();
  const first = await call('bump', {}, 'k1');
  const again = await call('bump', {}, 'k1');
  assert.equal(value(first), start + 1);
  assert.equal(value(again), start + 1);
  assert.equal(await counter(), start + 2);

  // the same key concurrently: one run, every request gets its answer
  const racing = await Promise.all([0, 1, 2].map(() => call('bump', { ms: 600 }, 'k2')));
  assert.deepEqual(racing.map(value), [start + 3, start + 3, start + 3]);
  assert.equal(await counter(), start + 4);

  // the session's actor crashes while the keyed run is in progress: the
  // request in flight is told it may or may not have completed, and the
  // retry gets the run's answer instead of running it again
  const inFlight = call('bump', { ms: 1500 }, 'k3');
  await new Promise((r) => setTimeout(r, 400));
  const crash = await fetch(`http://127.0.0.1:${admin}/admin/chaos`, { method: 'POST', body: JSON.stringify({ target: 'session', id: sid }) });
  assert.equal(crash.status, 200);
  const lost = await inFlight;
  assert.match(lost.error.message, /may or may not have completed/);
  const retry = await call('bump', { ms: 1500 }, 'k3');
  assert.equal(value(retry), start + 5);
  assert.equal(await counter(), start + 6);

  // a key is bound to its call: other arguments are refused
  const conflict = await call('bump', { ms: 5 }, 'k1');
  assert.equal(conflict.error.code, -32602);
  assert.match(conflict.error.message, /different call/);
  const bad = await call('bump', {}, 42);
  assert.equal(bad.error.code, -32602);

  // keys are per session: another session runs its own k1
  const other = await session();
  assert.equal(value(await other.call('bump', {}, 'k1')), start + 7);

  // stateless requests: per client and key
  const a = await stateless('bump', {}, 's1');
  const b = await stateless('bump', {}, 's1');
  assert.equal(value(a), start + 8);
  assert.equal(value(b), start + 8);
  assert.equal(value(await stateless('bump', {})), start + 9);
});

test('a keyed call that asks the client for input runs its rounds once (sdk 1.32)', async () => {
  const client = new Client({ name: 'idem-sdk', version: '1' }, { capabilities: { elicitation: {} } });
  let asked = 0;
  client.setRequestHandler(ElicitRequestSchema, async () => {
    asked += 1;
    return { action: 'accept', content: { answer: `answer ${asked}` } };
  });
  const transport = new StreamableHTTPClientTransport(s.url);
  await client.connect(transport);
  const call = () => client.callTool({ name: 'ask_user', arguments: { question: 'Sure?' }, _meta: { [KEY]: 'e1' } });
  const first = await call();
  const second = await call();
  assert.equal(first.content[0].text, 'answer 1');
  assert.equal(second.content[0].text, 'answer 1');
  assert.equal(asked, 1);
  await transport.terminateSession().catch(() => {});
  await client.close();
});
