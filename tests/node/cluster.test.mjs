// A cluster of mcpvisor nodes on 127.0.0.1 (issue 14): mutual TLS with
// certificates from `mcpvisor cluster-certs`, a full mesh learnt from seeds,
// every kind of peer that must not get in refused; three nodes behind
// HAProxy (round robin, no stickiness) serving the official SDK clients and
// the official conformance suite, requests forwarded to the node that owns
// their session; and a failover drill in which a node is SIGKILLed and
// restarted and another drained while 300 sessions make calls.
// MCPVISOR_BIN names the binary, PLAIN_CAF_CLIENT the test program
// tests/cluster/plain_caf_client.cpp; haproxy comes from Debian.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Http } from '@modelcontextprotocol/client';

import { freePort, startServer, stopServer, until } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const PLAIN = process.env.PLAIN_CAF_CLIENT ?? 'build/tests/plain-caf-client';
const NODE = process.execPath;
const running = new Set();

after(async () => {
  for (const s of running) {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
  }
});

function certs() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpvisor-certs-'));
  execFileSync(BIN, ['cluster-certs', dir, '--nodes', '4']);
  return dir;
}

const tls = (dir, i) => ['--cluster-tls-ca', join(dir, 'ca.pem'),
                         '--cluster-tls-cert', join(dir, `node-${i}.pem`),
                         '--cluster-tls-key', join(dir, `node-${i}.key`),
                         '--cluster-secret-file', join(dir, 'cluster.secret')];

/** Node `name` with its cluster port, seeds and certificates; `ports` fixes
 *  its HTTP and admin ports (a node restarted behind HAProxy keeps them). */
async function node(name, clusterPort, seeds, tlsArgs, extra = [], ports = {}) {
  const admin = ports.admin ?? await freePort();
  const s = await startServer(BIN, ['--admin', `127.0.0.1:${admin}`, '--node-name', name,
                                    '--cluster-listen', `127.0.0.1:${clusterPort}`,
                                    ...seeds.flatMap((p) => ['--join', `127.0.0.1:${p}`]),
                                    '--cluster-heartbeat-ms', '200', '--cluster-timeout-ms', '1000',
                                    ...tlsArgs, ...extra], process.env, ports.http);
  s.admin = `http://127.0.0.1:${admin}`;
  s.adminPort = admin;
  s.name = name;
  s.clusterPort = clusterPort;
  running.add(s);
  return s;
}

const members = async (s) => (await (await fetch(`${s.admin}/admin/cluster`)).json()).members;
const upNames = async (s) => (await members(s)).filter((m) => m.state === 'up').map((m) => m.name).sort();

/** `n` nodes with `tools`, all seeing each other up. */
async function cluster(dir, n, tools, extra = []) {
  // every port picked up front and distinct: a free port picked later could
  // be one another node is about to bind
  const picked = new Set();
  while (picked.size < 3 * n) picked.add(await freePort());
  const [ports, http, admin] = [0, 1, 2].map((k) => [...picked].slice(k * n, (k + 1) * n));
  const nodes = [];
  for (let i = 0; i < n; i++)
    nodes.push(await node(`node-${i + 1}`, ports[i], ports.filter((_, k) => k !== i), tls(dir, i + 1),
                          ['--tools', tools, ...extra], { http: http[i], admin: admin[i] }));
  const all = nodes.map((x) => x.name).sort();
  for (const s of nodes)
    await until(async () => JSON.stringify(await upNames(s)) === JSON.stringify(all));
  return nodes;
}

/** Restarts node `s` (after it stopped) on the same ports. */
async function restart(s, dir, index, seeds, tools) {
  running.delete(s);
  return node(s.name, s.clusterPort, seeds, tls(dir, index), ['--tools', tools],
              { http: s.port, admin: s.adminPort });
}

/** HAProxy in front of `nodes`: round robin, no stickiness, each node's
 *  /readyz checked every 200 ms on its admin port. */
async function haproxy(nodes) {
  const port = await freePort();
  const file = join(mkdtempSync(join(tmpdir(), 'mcpvisor-haproxy-')), 'haproxy.cfg');
  writeFileSync(file, `global
  maxconn 9000
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch
  option http-server-close
frontend mcp
  bind 127.0.0.1:${port}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk
  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host 127.0.0.1
${nodes.map((n, i) => `  server n${i + 1} 127.0.0.1:${n.port} check port ${n.adminPort} inter 200ms fall 1 rise 2`).join('\n')}
`);
  const proc = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const lb = { proc, port, url: new URL(`http://127.0.0.1:${port}/mcp`), log: () => log };
  running.add(lb);
  // up once HAProxy answers and every node is ready
  await until(async () => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' });
      return r.status !== 503;
    } catch { return false; }
  });
  await new Promise((r) => setTimeout(r, 600)); // every server passed its checks
  return lb;
}

async function stopAll(list) {
  await Promise.all(list.map(async (s) => {
    running.delete(s);
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
    const exited = new Promise((resolve) => s.proc.on('exit', resolve));
    s.proc.kill('SIGKILL');
    await exited;
  }));
}

async function answers(s) {
  const client = new Client({ name: 'cluster-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(s.url);
  await client.connect(transport);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  await transport.terminateSession();
  await client.close();
  return r.content[0].text === 'hi';
}

test('a cluster port needs all three TLS files and the shared secret', () => {
  const r = spawnSync(BIN, ['--listen', '127.0.0.1:0', '--cluster-listen', '127.0.0.1:1'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /needs --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca/);
  const dir = certs();
  const noSecret = spawnSync(BIN, ['--listen', '127.0.0.1:0', '--cluster-listen', '127.0.0.1:1',
                                   ...tls(dir, 1).slice(0, 6)], { encoding: 'utf8' });
  assert.equal(noSecret.status, 2);
  assert.match(noSecret.stderr, /needs --cluster-secret-file/);
});

test('three nodes form a mesh; a killed node is seen down, and up again when it restarts; intruders are refused', async () => {
  const dir = certs();
  const ports = [await freePort(), await freePort(), await freePort()];
  // node-2 and node-3 know only node-1; node-1 knows node-2 (seeds may be
  // down at first: they are tried again)
  const a = await node('node-1', ports[0], [ports[1]], tls(dir, 1));
  const b = await node('node-2', ports[1], [ports[0]], tls(dir, 2));
  let c = await node('node-3', ports[2], [ports[0]], tls(dir, 3));
  const all = ['node-1', 'node-2', 'node-3'];
  for (const s of [a, b, c])
    await until(async () => JSON.stringify(await upNames(s)) === JSON.stringify(all));
  const view = await members(a);
  assert.equal(view.find((m) => m.name === 'node-3').address, `127.0.0.1:${ports[2]}`);
  assert.ok(view.find((m) => m.name === 'node-1').self);

  // intruders: a node whose certificate comes from another CA, a TLS client
  // without a certificate, a CAF peer without TLS, and garbage
  const rogueDir = certs();
  const rogue = await node('rogue', await freePort(), [ports[0]], tls(rogueDir, 1));
  const s = spawnSync('openssl', ['s_client', '-ign_eof', '-connect', `127.0.0.1:${ports[0]}`, '-CAfile', join(dir, 'ca.pem')],
                      { input: '', encoding: 'utf8', timeout: 10000 });
  assert.match(s.stdout + s.stderr, /alert certificate required/, 'a TLS client without a certificate is refused');
  const plain = spawnSync(PLAIN, ['127.0.0.1', String(ports[1])], { encoding: 'utf8', timeout: 20000 });
  assert.equal(plain.status, 0, `the plain CAF peer: ${plain.stdout}${plain.stderr}`);
  await new Promise((resolve) => {
    const sock = connect(ports[2], '127.0.0.1', () => {
      sock.end(Buffer.from('\x00\x00\x00\x10garbage on the cluster port\r\n'.repeat(100)));
    });
    sock.on('close', resolve);
    sock.on('error', resolve);
  });
  await new Promise((r) => setTimeout(r, 2500)); // the rogue's seed retries had their chance
  assert.deepEqual(await upNames(rogue), ['rogue']);
  for (const n of [a, b, c]) {
    assert.deepEqual(await upNames(n), all);
    assert.ok(await answers(n));
  }
  assert.match(rogue.log(), /cluster node not reachable/);
  // each refusal is logged by the node that refused it
  for (const n of [a, b, c])
    assert.match(n.log(), /cluster TLS session refused/);

  // SIGKILL: the others see it down within the connection timeout
  c.proc.kill('SIGKILL');
  running.delete(c);
  for (const n of [a, b])
    await until(async () => (await members(n)).find((m) => m.name === 'node-3')?.state === 'down');
  assert.match(a.log(), /cluster member down/);
  assert.ok(await answers(a));
  // the same node comes back under its name
  c = await node('node-3', ports[2], [ports[0]], tls(dir, 3));
  for (const n of [a, b, c])
    await until(async () => JSON.stringify(await upNames(n)) === JSON.stringify(all));
  await stopAll([a, b, c, rogue]);
});

test('a node cut off past the timeout is seen down and its sessions taken over; when it comes back it is fenced and stops', async () => {
  const dir = certs();
  const nodes = await cluster(dir, 3, 'drill');
  const s = await openSession(nodes[2].url.href, 3); // born on node-3, log level "warning"
  nodes[2].proc.kill('SIGSTOP'); // as a cut network: no FIN, no heartbeat
  await until(async () => (await members(nodes[0])).find((m) => m.name === 'node-3').state === 'down');
  const r = await rpc(nodes[0].url.href, s.sid, { jsonrpc: '2.0', id: 9, method: 'tools/call',
                                                   params: { name: 'session_state', arguments: {} } });
  assert.equal(r.json?.result?.content?.[0]?.text, 'warning', JSON.stringify(r));
  const exited = new Promise((resolve) => nodes[2].proc.on('exit', (code) => resolve(code)));
  nodes[2].proc.kill('SIGCONT');
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 20000))]);
  assert.equal(code, 1, nodes[2].log().slice(-3000));
  running.delete(nodes[2]);
  assert.match(nodes[2].log(), /declared down by the cluster/);
  // the others serve on: the node that was cut off fenced nobody
  const again = await rpc(nodes[1].url.href, s.sid, { jsonrpc: '2.0', id: 10, method: 'ping' });
  assert.equal(again.status, 200);
  await new Promise((r) => setTimeout(r, 1500));
  for (const n of nodes.slice(0, 2)) assert.equal(n.proc.exitCode, null, n.log().slice(-2000));
  assert.deepEqual(await upNames(nodes[0]), ['node-1', 'node-2']);
  await stopAll(nodes);
});

// -- behind HAProxy ---------------------------------------------------------------

async function v1(url, capabilities = {}) {
  const client = new Client({ name: 'cluster-v1', version: '1.0.0' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

const adminJson = async (s, path) => (await fetch(`${s.admin}${path}`)).json();

test('behind HAProxy without stickiness: SDK sessions with progress, elicitation and cancellation, stateless 2026-07-28 clients, the admin view, and a node that kills itself', async () => {
  const dir = certs();
  const nodes = await cluster(dir, 3, 'drill');
  const lb = await haproxy(nodes);

  // sdk 1.32: every request of a session lands on any node
  const c = await v1(lb.url, { elicitation: {} });
  c.client.setRequestHandler(ElicitRequestSchema, async (req) => {
    assert.equal(req.params.message, 'Which node?');
    return { action: 'accept', content: { answer: 'any' } };
  });
  for (let i = 0; i < 6; i++) {
    const r = await c.client.callTool({ name: 'echo', arguments: { text: `call ${i}` } });
    assert.equal(r.content[0].text, `call ${i}`);
  }
  const progress = [];
  await c.client.callTool({ name: 'countdown', arguments: { seconds: 2 } }, undefined,
                          { onprogress: (p) => progress.push(p.progress) });
  assert.ok(progress.length >= 2, `progress through the cluster: ${progress}`);
  const e = await c.client.callTool({ name: 'ask_user', arguments: { question: 'Which node?' } });
  assert.equal(e.content[0].text, 'any');
  // cancellation reaches the owner whichever node takes the notification
  const ac = new AbortController();
  const seen = [];
  const call = c.client.callTool({ name: 'countdown', arguments: { seconds: 10 } }, undefined,
                                 { signal: ac.signal, onprogress: (p) => seen.push(p.progress) });
  await until(() => seen.length >= 1);
  ac.abort();
  await assert.rejects(call);
  const atAbort = seen.length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(seen.length, atAbort, 'no progress after cancellation');
  const level = await c.client.setLoggingLevel('warning');
  assert.deepEqual(level, {});
  const st = await c.client.callTool({ name: 'session_state', arguments: {} });
  assert.equal(st.content[0].text, 'warning');

  // twenty sessions at once
  const many = await Promise.all(Array.from({ length: 20 }, () => v1(lb.url)));
  await Promise.all(many.map(async (m, i) => {
    for (let k = 0; k < 5; k++) {
      const r = await m.client.callTool({ name: 'echo', arguments: { text: `${i}.${k}` } });
      assert.equal(r.content[0].text, `${i}.${k}`);
    }
  }));
  for (const m of many) {
    await m.transport.terminateSession();
    await m.client.close();
  }

  // client 2.x stateless: any node serves it
  const v2 = new V2Client({ name: 'cluster-v2', version: '2.0.0' },
                          { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await v2.connect(new V2Http(lb.url));
  for (let i = 0; i < 6; i++) {
    const r = await v2.callTool({ name: 'echo', arguments: { text: `stateless ${i}` } });
    assert.equal(r.content[0].text, `stateless ${i}`);
  }
  await v2.close();

  // tasks (2026-07-28): created on one node, polled and cancelled through
  // the others (the task id names the node that holds it)
  const taskCall = async (n, method, params, name = params.name ?? params.taskId) => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28', 'mcp-method': method, 'mcp-name': name };
    const r = await fetch(n.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method,
      params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } } } } }) });
    return r.json();
  };
  const made = await taskCall(nodes[0], 'tools/call', { name: 'sleep', arguments: { ms: 1500 } });
  const tid = made.result.taskId;
  assert.match(tid, /^[0-9a-f]{6}\./);
  assert.equal((await taskCall(nodes[1], 'tasks/get', { taskId: tid })).result.taskId, tid);
  assert.equal((await taskCall(nodes[1], 'tasks/get', { taskId: tid }, 'another')).error.code, -32020);
  const finished = await until(async () => {
    const r = await taskCall(nodes[2], 'tasks/get', { taskId: tid });
    return r.result.status === 'completed' && r;
  });
  assert.equal(finished.result.result.content[0].text, 'slept');
  const long = await taskCall(nodes[0], 'tools/call', { name: 'sleep', arguments: { ms: 30000 } });
  const ack = await taskCall(nodes[2], 'tasks/cancel', { taskId: long.result.taskId });
  assert.equal(ack.result.resultType, 'complete');
  assert.equal((await taskCall(nodes[1], 'tasks/get', { taskId: long.result.taskId })).result.status, 'cancelled');

  // the admin view: members, sessions per node, forwarding, replication, and
  // one member's tree asked of another
  const view = await adminJson(nodes[0], '/admin/cluster');
  assert.deepEqual(view.members.map((m) => m.state), ['up', 'up', 'up']);
  assert.ok(view.forwarding.sent_total > 0);
  assert.ok(view.replication.sent_total > 0 || view.replication.received_total > 0);
  const total = view.members.reduce((n, m) => n + m.sessions, 0);
  assert.ok(total >= 1, `sessions per node: ${JSON.stringify(view.members)}`);
  const tree = await (await fetch(`${nodes[0].admin}/admin/tree?node=node-2&depth=1`)).json();
  assert.equal(tree.id, 'root');
  const own = await (await fetch(`${nodes[1].admin}/admin/tree?depth=1`)).json();
  assert.deepEqual(tree.nodes.map((x) => x.id), own.nodes.map((x) => x.id));
  assert.ok(tree.nodes.some((x) => x.id === "cluster-replicator"));
  assert.equal((await fetch(`${nodes[0].admin}/admin/tree?node=nobody`)).status, 404);
  const metrics = await (await fetch(`${nodes[0].admin}/metrics`)).text();
  assert.match(metrics, /mcpvisor_cluster_members\{state="up"\} 3/);
  assert.match(metrics, /mcpvisor_cluster_forwarded_total [1-9]/);

  // node-1's andon cord pulled by hand: an initialize that reaches it over
  // a connection it already has creates the session on a peer
  const initBody = { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'placed', version: '1' } } };
  assert.equal((await rpc(nodes[0].url.href, null, initBody)).status, 200); // opens the connection
  const mine = async () => (await members(nodes[0])).find((m) => m.self).sessions;
  const before = await mine();
  const sentBefore = (await adminJson(nodes[0], '/admin/cluster')).forwarding.sent_total;
  const pull = await fetch(`${nodes[0].admin}/admin/andon`, { method: 'POST',
                                                            body: '{"action":"pull","reason":"test"}' });
  assert.equal(pull.status, 200);
  const placed = await rpc(nodes[0].url.href, null, initBody);
  assert.equal(placed.status, 200, JSON.stringify(placed));
  assert.ok(placed.sid);
  assert.equal(await mine(), before);
  assert.ok((await adminJson(nodes[0], '/admin/cluster')).forwarding.sent_total > sentBefore);
  const refused = await rpc(nodes[0].url.href, placed.sid, { jsonrpc: '2.0', id: 2, method: 'ping' });
  assert.equal(refused.status, 503); // other new work is refused while the cord is pulled
  await fetch(`${nodes[0].admin}/admin/andon`, { method: 'POST', body: '{"action":"release"}' });
  const served = await rpc(lb.url.href, placed.sid, { jsonrpc: '2.0', id: 3, method: 'ping' });
  assert.equal(served.status, 200, JSON.stringify(served));

  // chaos: node-3 kills itself as SIGKILL would; a session born there
  // answers through HAProxy on its buddy, with its state
  const born = await v1(nodes[2].url);
  await born.client.setLoggingLevel('error');
  const exited = new Promise((resolve) => nodes[2].proc.on('exit', (code, signal) => resolve(signal)));
  const kill = await fetch(`${nodes[2].admin}/admin/chaos`, { method: 'POST', body: '{"target":"node"}' });
  assert.equal(kill.status, 200);
  assert.deepEqual(await kill.json(), { killed: { node: 'node-3' } });
  assert.equal(await exited, 'SIGKILL');
  running.delete(nodes[2]);
  await until(async () => (await members(nodes[0])).find((m) => m.name === 'node-3').state === 'down');
  const moved = new Client({ name: 'cluster-v1', version: '1.0.0' });
  const t = new StreamableHTTPClientTransport(lb.url, { sessionId: born.transport.sessionId });
  await moved.connect(t); // reuses the session: no initialize is sent
  const state = await moved.callTool({ name: 'session_state', arguments: {} });
  assert.equal(state.content[0].text, 'error');
  await moved.close();
  const taken = (await adminJson(nodes[0], '/admin/cluster')).replication.taken_over_total
              + (await adminJson(nodes[1], '/admin/cluster')).replication.taken_over_total;
  assert.ok(taken >= 1);

  await c.transport.terminateSession();
  await c.client.close();
  await stopAll([lb, ...nodes]);
});

test('the official conformance suite 0.1.16 --suite all passes through HAProxy in front of three nodes', async () => {
  const dir = certs();
  const nodes = await cluster(dir, 3, 'conformance');
  const lb = await haproxy(nodes);
  const pkg = new URL('./node_modules/conformance-0.1.16/dist/index.js', import.meta.url).pathname;
  const out = await new Promise((resolve) => {
    const p = spawn(NODE, [pkg, 'server', '--url', lb.url.href, '--suite', 'all'],
                    { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.stderr.on('data', (d) => { text += d; });
    p.on('exit', (code) => resolve({ code, text }));
  });
  const lines = out.text.split('\n').filter((l) => /^[✓✗] \S+: \d+ passed, \d+ failed/.test(l));
  const failed = lines.filter((l) => l.startsWith('✗'));
  assert.deepEqual(failed, [], out.text.slice(-3000));
  assert.ok(lines.length >= 32, `scenarios run: ${lines.length}`);
  assert.equal(out.code, 0);
  // the requests really crossed nodes
  let forwarded = 0;
  for (const n of nodes) forwarded += (await adminJson(n, '/admin/cluster')).forwarding.sent_total;
  assert.ok(forwarded > 50, `forwarded: ${forwarded}`);
  await stopAll([lb, ...nodes]);
});

// -- the failover drill -------------------------------------------------------------

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** One JSON-RPC POST through `url`; resolves with what came back, never
 *  throws: {status, body} or {status: 0, error}. */
async function rpc(url, sid, body, timeoutMs = 20000) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  if (sid) headers['Mcp-Session-Id'] = sid;
  try {
    const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body),
                                 signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, sid: r.headers.get('mcp-session-id'), json, text };
  } catch (e) {
    return { status: 0, error: String(e) };
  }
}

/** A session made through `url` with its own log level: its state. */
async function openSession(url, i) {
  const init = await rpc(url, null, { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `drill-${i}`, version: '1' } } });
  assert.equal(init.status, 200, JSON.stringify(init));
  const sid = init.sid;
  await rpc(url, sid, { jsonrpc: '2.0', method: 'notifications/initialized' });
  const level = LEVELS[i % LEVELS.length];
  const set = await rpc(url, sid, { jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level } });
  assert.equal(set.status, 200, JSON.stringify(set));
  // four requests per session: behind a round robin, the next session's
  // initialize lands on the next node
  await rpc(url, sid, { jsonrpc: '2.0', id: 3, method: 'ping' });
  return { sid, level, next: 10 };
}

/** What an answer was: a result, the restarted-session error, a refusal to
 *  retry (a 502 from HAProxy for a connection the killed node held, a 503,
 *  no answer on the socket), or something else, which is always wrong. */
function outcome(r, id) {
  if (r.status === 200 && r.json?.id === id && r.json.result && !r.json.result.isError) return 'ok';
  if (r.status === 200 && r.json?.id === id && r.json.error?.data?.sessionRestarted) return 'restarted';
  if (r.status === 502 || r.status === 503 || r.status === 0) return 'retry';
  return 'wrong';
}

test('failover drill: 300 sessions calling for a minute through HAProxy; a node SIGKILLed and restarted, another drained', async (t) => {
  const dir = certs();
  const nodes = await cluster(dir, 3, 'drill');
  const lb = await haproxy(nodes);
  const url = lb.url.href;
  const sessions = [];
  for (let i = 0; i < 300; i++) sessions.push(await openSession(url, i));
  const spread = await Promise.all(nodes.map(async (n) => (await members(n)).find((m) => m.self).sessions));
  assert.ok(spread.every((k) => k >= 50), `sessions per node: ${spread}`);

  const t0 = Date.now();
  const records = [];
  const marks = {};
  let stop = false;
  // 60 workers, each cycling through its five sessions: a read-only call
  // (sleep, run again after a failure) and one that is not (bump)
  const worker = async (w) => {
    for (let k = 0; !stop; k++) {
      const s = sessions[(w * 5 + (k % 5)) % sessions.length];
      const id = s.next++;
      const tool = k % 2 === 0 ? 'sleep' : 'bump';
      const start = Date.now() - t0;
      const r = await rpc(url, s.sid, { jsonrpc: '2.0', id, method: 'tools/call',
                                        params: { name: tool, arguments: { ms: 20 } } });
      records.push({ w, sid: s.sid, id, tool, start, end: Date.now() - t0, outcome: outcome(r, id),
                     status: r.status, detail: r.error ?? r.text?.slice(0, 200) });
      await new Promise((res) => setTimeout(res, 30));
    }
  };
  const load = Promise.all(Array.from({ length: 60 }, (_, w) => worker(w)));

  const at = (ms) => new Promise((res) => setTimeout(res, Math.max(0, t0 + ms - Date.now())));
  await at(15000);
  marks.kill = Date.now() - t0;
  nodes[1].proc.kill('SIGKILL');
  running.delete(nodes[1]);
  await until(async () => (await members(nodes[0])).find((m) => m.name === 'node-2').state === 'down');
  marks.seen = Date.now() - t0;
  await at(25000);
  const back = await restart(nodes[1], dir, 2, [nodes[0].clusterPort, nodes[2].clusterPort], 'drill');
  nodes[1] = back;
  await until(async () => (await upNames(nodes[0])).length === 3);
  marks.back = Date.now() - t0;
  await at(38000);
  marks.drain = Date.now() - t0;
  const drainedExit = new Promise((res) => nodes[2].proc.on('exit', (code, signal) => res({ code, signal })));
  nodes[2].proc.kill('SIGTERM');
  const drained = await drainedExit;
  running.delete(nodes[2]);
  marks.drained = Date.now() - t0;
  await at(60000);
  stop = true;
  await load;

  const count = (o, from = 0, to = Infinity) =>
    records.filter((r) => r.outcome === o && r.start >= from && r.start < to).length;
  const summary = { marks, total: records.length, ok: count('ok'), restarted: count('restarted'),
                    retry: count('retry'), wrong: count('wrong'), drained };
  const show = JSON.stringify(summary) + '\n'
               + records.filter((r) => r.outcome !== 'ok').slice(0, 20).map((r) => JSON.stringify(r)).join('\n');
  t.diagnostic(JSON.stringify(summary));
  assert.ok(records.length > 3000, show);
  // nothing is ever answered wrongly (a lost session would be a 404 here)
  assert.equal(summary.wrong, 0, show);
  // the drained node left cleanly, and its clients saw no error at all
  assert.deepEqual(drained, { code: 0, signal: null }, show);
  const inDrain = records.filter((r) => r.start >= marks.drain - 500 && r.outcome !== 'ok');
  assert.deepEqual(inDrain, [], show);
  // errors only for what was in flight when the node died, or reached it
  // before the others saw it down
  const late = records.filter((r) => r.outcome !== 'ok' && (r.end < marks.kill || r.start > marks.seen + 1500));
  assert.deepEqual(late, [], show);
  // a read-only call that was in flight on the dead node ran again: it
  // never gets the restarted-session error
  assert.equal(records.filter((r) => r.tool === 'sleep' && r.outcome === 'restarted').length, 0, show);

  // every session still answers, with its state
  const survivors = nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
  for (const s of sessions) {
    const id = s.next++;
    const r = await rpc(url, s.sid, { jsonrpc: '2.0', id, method: 'tools/call',
                                      params: { name: 'session_state', arguments: {} } });
    assert.equal(outcome(r, id), 'ok', `${s.sid}: ${JSON.stringify(r)}`);
    assert.equal(r.json.result.content[0].text, s.level, s.sid);
  }
  let taken = 0;
  for (const n of survivors) taken += (await adminJson(n, '/admin/cluster')).replication.taken_over_total;
  assert.ok(taken >= 50, `sessions taken over: ${taken}`);
  await stopAll([lb, ...survivors]);
});
