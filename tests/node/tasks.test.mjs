// The tasks extension (io.modelcontextprotocol/tasks) against the real
// binary over HTTP: tasks that outlive a crash of the actor running them
// (run again when read-only or idempotent, failed otherwise), stateless
// requests served again after such a crash, a chaos drill with tasks in
// flight, status notifications, the admin view, limits per client, and the
// default set's long-running tool as a task. MCPVISOR_BIN names the binary.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

import { freePort, startServer, stopServer, until } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const servers = [];
after(async () => {
  for (const s of servers) await stopServer(s);
});

async function start(args) {
  const admin = await freePort();
  const s = await startServer(BIN, ['--admin', `127.0.0.1:${admin}`, '--scheduler-threads', '2', ...args]);
  s.admin = `http://127.0.0.1:${admin}`;
  servers.push(s);
  return s;
}

const EXT = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
let nextId = 1;

/** One 2026-07-28 request; resolves with the parsed JSON-RPC response. */
async function rpc(s, method, params = {}, caps = EXT) {
  const body = {
    jsonrpc: '2.0', id: nextId++, method,
    params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': caps } },
  };
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  if (params.name !== undefined) headers['mcp-name'] = params.name;
  if (params.taskId !== undefined) headers['mcp-name'] = params.taskId;
  const r = await fetch(s.url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await r.text();
  const json = text.startsWith('{') ? text : text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).pop();
  return { status: r.status, ...JSON.parse(json) };
}

const get = (s, taskId) => rpc(s, 'tasks/get', { taskId });
const adminTasks = async (s) => (await (await fetch(`${s.admin}/admin/tasks`)).json()).tasks;
const chaos = (s, order) => fetch(`${s.admin}/admin/chaos`, { method: 'POST', body: JSON.stringify(order) });

async function terminal(s, taskId, ms = 20000) {
  return until(async () => {
    const r = (await get(s, taskId)).result;
    return ['completed', 'failed', 'cancelled'].includes(r.status) && r;
  }, ms);
}

/** Starts a task of `tool` and waits until an actor runs it. */
async function running(s, tool, args) {
  const created = await rpc(s, 'tools/call', { name: tool, arguments: args });
  assert.equal(created.result.resultType, 'task', JSON.stringify(created));
  const id = created.result.taskId;
  await until(async () => (await adminTasks(s)).find((t) => t.taskId === id && t.runner));
  return id;
}

test('a crash of the actor running a task: read-only tasks run again, others fail', async () => {
  const s = await start(['--tools', 'drill']);
  // read-only: run again from its request, and completes
  const again = await running(s, 'sleep', { ms: 1500 });
  const killed = await chaos(s, { target: 'task', taskId: again });
  assert.equal(killed.status, 200);
  assert.match((await killed.json()).killed.actor, /^stateless-\d+$/);
  const done = await terminal(s, again);
  assert.equal(done.status, 'completed');
  assert.equal(done.result.content[0].text, 'slept');
  const row = (await adminTasks(s)).find((t) => t.taskId === again);
  assert.equal(row.runs, 2);
  // neither read-only nor idempotent: failed with a clear error, not run twice
  const before = Number((await rpc(s, 'tools/call', { name: 'bump', arguments: {} }, {})).result.content[0].text);
  const once = await running(s, 'bump', { ms: 1500 });
  assert.equal((await chaos(s, { target: 'task', taskId: once })).status, 200);
  const failed = await terminal(s, once);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.code, -32603);
  assert.match(failed.error.message, /crashed.*not run again/);
  const after = Number((await rpc(s, 'tools/call', { name: 'bump', arguments: {} }, {})).result.content[0].text);
  assert.equal(after, before + 1, 'the crashed bump never counted');
  // a task waiting for nothing to run has no runner to crash
  assert.equal((await chaos(s, { target: 'task', taskId: once })).status, 409);
  assert.equal((await chaos(s, { target: 'task', taskId: 'nope' })).status, 404);
  const metrics = await (await fetch(`${s.admin}/metrics`)).text();
  assert.match(metrics, /mcpvisor_tasks_run_again_total 1/);
  assert.match(metrics, /mcpvisor_tasks\{status="failed"\} 1/);
});

test('stateless requests in flight when their actor crashes: read-only ones are served again', async () => {
  const s = await start(['--tools', 'drill', '--stateless-actors', '1']);
  const slept = rpc(s, 'tools/call', { name: 'sleep', arguments: { ms: 1500 } }, {});
  const bumped = rpc(s, 'tools/call', { name: 'bump', arguments: { ms: 1500 } }, {});
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await chaos(s, { target: 'stateless', index: 0 })).status, 200);
  assert.equal((await slept).result.content[0].text, 'slept');
  const b = await bumped;
  assert.equal(b.error.code, -32603);
  assert.match(b.error.message, /may or may not have completed/);
  assert.match(await (await fetch(`${s.admin}/metrics`)).text(), /mcpvisor_stateless_run_again_total 1/);
});

test('chaos drill: stateless actors crash again and again while tasks run; none stays working', async () => {
  const s = await start(['--tools', 'drill', '--stateless-actors', '3']);
  const ids = [];
  for (let i = 0; i < 24; ++i) {
    const tool = i % 3 === 0 ? 'bump' : 'sleep';
    const r = await rpc(s, 'tools/call', { name: tool, arguments: { ms: 300 + 100 * (i % 8) } });
    assert.equal(r.result.resultType, 'task');
    ids.push([tool, r.result.taskId]);
  }
  const drill = await Promise.all([0, 1, 2].map((index) =>
    chaos(s, { target: 'stateless', index, every_ms: 150, for_ms: 2000 })));
  for (const r of drill) assert.equal(r.status, 200);
  await new Promise((r) => setTimeout(r, 2300));
  for (const [tool, id] of ids) {
    const t = await terminal(s, id, 30000);
    if (tool === 'sleep') assert.equal(t.status, 'completed', `${id}: ${JSON.stringify(t)}`);
    else assert.ok(['completed', 'failed'].includes(t.status));
  }
  const rows = await adminTasks(s);
  assert.equal(rows.filter((t) => t.status === 'working' || t.runner).length, 0);
  // the server still serves tasks
  const fresh = await rpc(s, 'tools/call', { name: 'sleep', arguments: { ms: 10 } });
  assert.equal((await terminal(s, fresh.result.taskId)).status, 'completed');
});

test('task status notifications on a subscriptions/listen stream', async () => {
  const s = await start(['--tools', 'drill']);
  const created = await rpc(s, 'tools/call', { name: 'sleep', arguments: { ms: 800 } });
  const id = created.result.taskId;
  const listen = (caps) => fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'sub-1', method: 'subscriptions/listen', params: { notifications: { taskIds: [id] }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': caps } } }),
  });
  const refused = await (await listen({})).json();
  assert.equal(refused.error.code, -32021);
  const r = await listen(EXT);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events = [];
  while (!events.some((e) => e.method === 'notifications/tasks')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    const lines = text.split('\n');
    text = lines.pop();
    for (const l of lines) if (l.startsWith('data: ')) events.push(JSON.parse(l.slice(6)));
  }
  await reader.cancel();
  const ack = events.find((e) => e.method === 'notifications/subscriptions/acknowledged');
  assert.deepEqual(ack.params.notifications.taskIds, [id]);
  const n = events.find((e) => e.method === 'notifications/tasks');
  assert.equal(n.params.taskId, id);
  assert.equal(n.params.status, 'completed');
  assert.equal(n.params.result.content[0].text, 'slept');
  assert.equal(n.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub-1');
});

test('admin view, cancellation, limits per client, and the default set as tasks', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tasks-files-'));
  const data = Buffer.alloc(5 * 1024 * 1024, 7);
  writeFileSync(join(root, 'big.bin'), data);
  const s = await start(['--tools', 'default', '--files-root', root, '--max-tasks-per-client', '3']);
  // the long-running tool of the default set reports progress as a task
  const hashed = await rpc(s, 'tools/call', { name: 'file_hash', arguments: { uri: `file://${join(root, 'big.bin')}` } });
  assert.equal(hashed.result.resultType, 'task');
  const h = await terminal(s, hashed.result.taskId);
  assert.equal(h.status, 'completed');
  assert.equal(h.result.structuredContent.sha256, createHash('sha256').update(data).digest('hex'));
  // without the extension the same tool answers at once
  const sync = await rpc(s, 'tools/call', { name: 'file_hash', arguments: { uri: `file://${join(root, 'big.bin')}` } }, {});
  assert.equal(sync.result.resultType, 'complete');
  // countdown: progress becomes the status message, then cancel
  const cd = await rpc(s, 'tools/call', { name: 'countdown', arguments: { seconds: 30 } });
  const id = cd.result.taskId;
  const progressed = await until(async () => {
    const t = (await get(s, id)).result;
    return t.statusMessage && /s left/.test(t.statusMessage) && t;
  });
  assert.equal(progressed.status, 'working');
  const row = (await adminTasks(s)).find((t) => t.taskId === id);
  assert.equal(row.tool, 'countdown');
  assert.match(row.runner, /^stateless-/);
  const ack = await rpc(s, 'tasks/cancel', { taskId: id });
  assert.deepEqual(Object.keys(ack.result).sort(), ['_meta', 'resultType']);
  assert.equal((await terminal(s, id, 3000)).status, 'cancelled');
  // three tasks kept per client (finished ones count until they expire): a
  // fourth is refused with a clear error
  assert.equal((await rpc(s, 'tools/call', { name: 'countdown', arguments: { seconds: 1 } })).result.resultType, 'task');
  const fourth = await rpc(s, 'tools/call', { name: 'countdown', arguments: { seconds: 1 } });
  assert.equal(fourth.status, 429);
  assert.match(fourth.error.message, /too many tasks for this client: at most 3/);
  // unknown tasks, and tasks/* without the extension
  assert.equal((await get(s, 'no-such-task')).error.code, -32602);
  const gated = await rpc(s, 'tasks/get', { taskId: id }, {});
  assert.equal(gated.error.code, -32021);
  assert.ok(gated.error.data.requiredCapabilities.extensions['io.modelcontextprotocol/tasks']);
});
