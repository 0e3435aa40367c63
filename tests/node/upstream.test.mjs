// Upstream MCP servers behind mcpvisor (issue 13): the official reference
// servers (pinned in package.json) over stdio, a Streamable HTTP upstream,
// and a fake server that misbehaves on purpose (fixtures/fake-upstream.mjs),
// called with the official SDK clients through the real binary.
// MCPVISOR_BIN names the binary.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Http } from '@modelcontextprotocol/client';

import { freePort, startServer, stopServer, until } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const here = dirname(fileURLToPath(import.meta.url));
const NODE = process.execPath;
const pkg = (p) => join(here, 'node_modules', '@modelcontextprotocol', p, 'dist', 'index.js');
const FAKE = join(here, 'fixtures', 'fake-upstream.mjs');
const servers = [];

after(async () => {
  for (const s of servers) await stopServer(s);
});

/** mcpvisor with `toml` as its config file (and the admin endpoint). */
async function start(toml, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'mcpvisor-up-'));
  const config = join(dir, 'mcpvisor.toml');
  writeFileSync(config, toml);
  const admin = await freePort();
  const s = await startServer(BIN, ['--tools', 'none', '--config', config,
                                    '--admin', `127.0.0.1:${admin}`, '--scheduler-threads', '2',
                                    ...extra]);
  s.admin = `http://127.0.0.1:${admin}`;
  servers.push(s);
  return s;
}

const q = (s) => JSON.stringify(s);
const fake = (name, mode, more = '') =>
  `[upstream.${name}]\ncommand = [${q(NODE)}, ${q(FAKE)}, ${q(mode)}]\n${more}\n`;

async function v1(url, capabilities = {}) {
  const client = new V1Client({ name: 'upstream-test', version: '1.0.0' }, { capabilities });
  const transport = new V1Http(url);
  await client.connect(transport);
  return { client, transport, close: async () => { await transport.terminateSession().catch(() => {}); await client.close(); } };
}

async function upstreams(s) {
  return (await (await fetch(`${s.admin}/admin/upstreams`)).json()).upstreams;
}

/** The children of `pid` that are zombies, and its open descriptors. */
function zombies(pid) {
  const out = execFileSync('ps', ['-o', 'stat=', '--ppid', String(pid)]).toString();
  return out.split('\n').filter((l) => l.startsWith('Z')).length;
}
/** Open descriptors of `pid` that are not sockets (pipes to upstream
 *  processes, pidfds, files): client connections come and go with the
 *  clients' own keep-alive, these must not grow. */
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).filter((fd) => {
  try {
    return !readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
  } catch {
    return false;
  }
}).length;

test('server-everything over stdio: tools, resources, prompts, progress, both revisions', async () => {
  const s = await start(`[upstream.ev]\ncommand = [${q(NODE)}, ${q(pkg('server-everything'))}, "stdio"]\n`);
  const c = await v1(s.url);
  const { tools } = await until(async () => {
    const l = await c.client.listTools();
    return l.tools.length > 0 ? l : null;
  });
  assert.ok(tools.some((t) => t.name === 'ev__echo'));
  const echo = await c.client.callTool({ name: 'ev__echo', arguments: { message: 'through' } });
  assert.equal(echo.content[0].text, 'Echo: through');
  const sum = await c.client.callTool({ name: 'ev__get-sum', arguments: { a: 2, b: 3 } });
  assert.match(sum.content[0].text, /5/);
  const res = await c.client.readResource({ uri: 'demo://resource/static/document/architecture.md' });
  assert.ok(res.contents[0].text.length > 0);
  const dyn = await c.client.readResource({ uri: 'demo://resource/dynamic/text/7' });
  assert.ok(dyn.contents.length === 1);
  const p = await c.client.getPrompt({ name: 'ev__args-prompt', arguments: { city: 'Oslo' } });
  assert.match(JSON.stringify(p.messages), /Oslo/);
  const seen = [];
  await c.client.callTool({ name: 'ev__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
                          undefined, { onprogress: (x) => seen.push(x.progress), timeout: 20000 });
  assert.ok(seen.length >= 2, `progress seen: ${seen}`);
  await c.close();
  const v2 = new V2Client({ name: 'upstream-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await v2.connect(new V2Http(s.url));
  const r = await v2.callTool({ name: 'ev__echo', arguments: { message: 'stateless' } });
  assert.equal(r.content[0].text, 'Echo: stateless');
  await v2.close();
});

test('cancelling a call through mcpvisor stops it upstream', async () => {
  const s = await start(fake('f', 'good'));
  const c = await v1(s.url);
  await until(async () => (await c.client.listTools()).tools.length > 0);
  const ac = new AbortController();
  const slow = c.client.callTool({ name: 'f__slow', arguments: { ms: 5000 } }, undefined, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 300));
  ac.abort();
  await assert.rejects(slow);
  // the slot is free again: the next call is served at once
  const e = await c.client.callTool({ name: 'f__echo', arguments: { text: 'after' } });
  assert.equal(e.content[0].text, 'after');
  assert.equal((await upstreams(s))[0].calls_in_flight, 0);
  await c.close();
});

test('server-filesystem and server-memory behind one mcpvisor', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpvisor-fs-'));
  writeFileSync(join(dir, 'hello.txt'), 'hello from a file');
  const s = await start(`[upstream.fs]\ncommand = [${q(NODE)}, ${q(pkg('server-filesystem'))}, ${q(dir)}]\n`
                        + `[upstream.mem]\ncommand = [${q(NODE)}, ${q(pkg('server-memory'))}]\n`
                        + `env = { MEMORY_FILE_PATH = ${q(join(dir, 'memory.jsonl'))} }\n`);
  const c = await v1(s.url);
  const names = await until(async () => {
    const n = (await c.client.listTools()).tools.map((t) => t.name);
    return n.some((x) => x.startsWith('fs__')) && n.some((x) => x.startsWith('mem__')) ? n : null;
  });
  assert.ok(names.includes('fs__read_text_file') || names.includes('fs__read_file'));
  const read = await c.client.callTool({ name: names.includes('fs__read_text_file') ? 'fs__read_text_file' : 'fs__read_file',
                                        arguments: { path: join(dir, 'hello.txt') } });
  assert.match(read.content[0].text, /hello from a file/);
  await c.client.callTool({ name: 'mem__create_entities',
                            arguments: { entities: [{ name: 'mcpvisor', entityType: 'server', observations: ['supervises'] }] } });
  const graph = await c.client.callTool({ name: 'mem__read_graph', arguments: {} });
  assert.match(JSON.stringify(graph), /mcpvisor/);
  await c.close();
});

test('an upstream over Streamable HTTP', async () => {
  const port = await freePort();
  const ev = spawn(NODE, ['--import', join(here, '..', '..', 'loadtest', 'peers', 'bind-loopback.mjs'),
                          pkg('server-everything'), 'streamableHttp'],
                   { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await until(async () => fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' }).then(() => true, () => false));
    const s = await start(`[upstream.web]\nurl = "http://127.0.0.1:${port}/mcp"\n`);
    const c = await v1(s.url);
    await until(async () => (await c.client.listTools()).tools.some((t) => t.name === 'web__echo'));
    const r = await c.client.callTool({ name: 'web__echo', arguments: { message: 'over http' } });
    assert.equal(r.content[0].text, 'Echo: over http');
    await c.close();
  } finally {
    ev.kill();
  }
});

test('an upstream asks the client (elicitation) through mcpvisor', async () => {
  const s = await start(fake('f', 'good', 'call_timeout_ms = 2000'));
  const c = await v1(s.url, { elicitation: {} });
  c.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
  await until(async () => (await c.client.listTools()).tools.length > 0);
  const r = await c.client.callTool({ name: 'f__ask', arguments: {} });
  assert.equal(r.content[0].text, 'hello Ada (accept)');
  await c.close();
  // a 2026-07-28 client answers input_required rounds instead
  const v2 = new V2Client({ name: 'up-v2', version: '1.0.0' },
                          { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: {} } });
  v2.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Grace' } }));
  await v2.connect(new V2Http(s.url));
  const r2 = await v2.callTool({ name: 'f__ask', arguments: {} });
  assert.equal(r2.content[0].text, 'hello Grace (accept)');
  await v2.close();
  // a 2026-07-28 client that never comes back with the answer: the
  // upstream call is given up after call_timeout_ms, not held forever
  const res = await fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
               'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'f__ask' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'f__ask', arguments: {},
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
               'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } } } }),
  });
  assert.equal((await res.json()).result.resultType, 'input_required');
  assert.equal((await upstreams(s))[0].calls_in_flight, 1);
  await until(async () => (await upstreams(s))[0].calls_in_flight === 0);
});

test('a call in flight on a process that dies: read-only ones run again, others get one error', async () => {
  const s = await start(fake('f', 'good', 'processes = 1'));
  const c = await v1(s.url);
  await until(async () => (await c.client.listTools()).tools.length > 0);
  const kill = () => fetch(`${s.admin}/admin/chaos`, { method: 'POST', body: JSON.stringify({ target: 'upstream_process', name: 'f', index: 0 }) });
  // read-only: run again on the fresh process
  const ro = c.client.callTool({ name: 'f__slow', arguments: { ms: 1500 } });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await kill()).status, 200);
  const done = await ro;
  assert.match(done.content[0].text, /slow done/);
  // not read-only: one error that says the upstream restarted
  await until(async () => (await upstreams(s))[0].processes[0].ready);
  const rw = c.client.callTool({ name: 'f__write', arguments: { ms: 1500 } });
  await new Promise((r) => setTimeout(r, 300));
  await kill();
  await assert.rejects(rw, (e) => /restarted/.test(e.message));
  // the call that made the process die is not run again
  await until(async () => (await upstreams(s))[0].processes[0].ready);
  await assert.rejects(c.client.callTool({ name: 'f__die', arguments: {} }), /restarted/);
  await c.close();
});

test('bad upstreams are stopped, restarted, and marked down while the rest serve', async () => {
  const bad = (name, mode, more = '') => fake(name, mode, `intensity = 2\nperiod_ms = 20000\nretry_after_ms = 60000\n${more}`);
  const s = await start(fake('ok', 'good')
                        + bad('garbage', 'garbage')
                        + bad('huge', 'huge', 'max_message_bytes = 1048576')
                        + bad('silent', 'silent', 'start_timeout_ms = 500')
                        + bad('wrongid', 'wrong-id', 'call_timeout_ms = 1000')
                        + bad('exits', 'exit')
                        + bad('crashes', 'crash-on-start')
                        + `[upstream.nocmd]\ncommand = "/no/such/program"\nintensity = 1\nretry_after_ms = 60000\n`
                        + `[upstream.refused]\nurl = "http://127.0.0.1:1/mcp"\nintensity = 1\nretry_after_ms = 60000\n`);
  const c = await v1(s.url);
  // both bad processes listed their tools before they are called
  await until(async () => {
    const names = (await c.client.listTools()).tools.map((t) => t.name);
    return names.includes('garbage__echo') && names.includes('huge__echo');
  });
  // garbage and a line over the limit end in one error, and a restart
  for (const name of ['garbage__echo', 'huge__echo']) {
    await assert.rejects(c.client.callTool({ name, arguments: { text: 'x' } }), /restarted|down/, name);
  }
  // answers to ids it was never sent are dropped: the call times out
  await assert.rejects(c.client.callTool({ name: 'wrongid__echo', arguments: { text: 'x' } }), /timed out/);
  const state = await until(async () => {
    const all = await upstreams(s);
    const by = Object.fromEntries(all.map((u) => [u.name, u]));
    return ['silent', 'exits', 'crashes', 'nocmd', 'refused'].every((n) => by[n].state.startsWith('down')) ? by : null;
  }, 30000);
  assert.match(state.nocmd.state, /No such file or directory/);
  assert.match(state.crashes.state, /exited with status 1/);
  assert.match(state.refused.state, /cannot reach/);
  // the others serve on
  const r = await c.client.callTool({ name: 'ok__echo', arguments: { text: 'still here' } });
  assert.equal(r.content[0].text, 'still here');
  // a tool of an upstream that is down is out of the list, and says why
  const names = (await c.client.listTools()).tools.map((t) => t.name);
  assert.ok(!names.includes('exits__echo'));
  await assert.rejects(c.client.callTool({ name: 'exits__echo', arguments: { text: 'x' } }), /exits is down/);
  assert.equal(zombies(s.proc.pid), 0);
  await c.close();
});

test('a saturated upstream refuses at once: a JSON-RPC error, 503 and Retry-After', async () => {
  const s = await start(fake('f', 'good', 'max_in_flight = 1\nmax_queued = 1'));
  const c = await v1(s.url);
  await until(async () => (await c.client.listTools()).tools.length > 0);
  const first = c.client.callTool({ name: 'f__slow', arguments: { ms: 3000 } });
  let firstDone = false;
  first.then(() => { firstDone = true; }, () => {});
  const second = c.client.callTool({ name: 'f__slow', arguments: { ms: 10 } });
  await until(async () => (await upstreams(s))[0].calls_in_flight === 1);
  const res = await fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
               'mcp-session-id': c.transport.sessionId, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'third', method: 'tools/call', params: { name: 'f__echo', arguments: { text: 'x' } } }),
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '1');
  const body = await res.json();
  assert.equal(body.id, 'third');
  assert.match(body.error.message, /upstream f is saturated/);
  assert.equal(body.error.data.upstream, 'f');
  assert.ok(!firstDone, 'refused without waiting for the calls ahead');
  // the calls it took are answered as usual
  assert.match((await first).content[0].text, /slow done/);
  assert.match((await second).content[0].text, /slow done/);
  await c.close();
});

/** True while process `pid` exists (a zombie counts: it was not reaped). */
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('per-session mode: a process per client session, stopped with its session or when idle, capped', async () => {
  const s = await start(fake('ps', 'good', 'mode = "per-session"\nmax_processes = 2\nidle_timeout_ms = 1500'));
  const pidOf = async (c) => Number((await c.client.callTool({ name: 'ps__pid', arguments: {} })).content[0].text);
  const sessionProcs = async () => (await upstreams(s))[0].processes.filter((p) => p.role === 'session');
  const a = await v1(s.url);
  // the tools are listed (by the lister process) before any session called
  await until(async () => (await a.client.listTools()).tools.some((t) => t.name === 'ps__pid'));
  assert.equal((await sessionProcs()).length, 0);
  const b = await v1(s.url);
  const pa = await pidOf(a);
  assert.equal(await pidOf(a), pa, 'one session keeps its process');
  const pb = await pidOf(b);
  assert.notEqual(pa, pb, 'two sessions, two processes');
  const procs = await sessionProcs();
  assert.deepEqual(procs.map((p) => p.session).sort(), [a.transport.sessionId, b.transport.sessionId].sort());
  assert.deepEqual(procs.map((p) => p.pid).sort(), [pa, pb].sort());
  // the cap: a third session is refused, clearly
  const c = await v1(s.url);
  await assert.rejects(pidOf(c), /one process per client session .*max_processes/);
  // a stateless 2026-07-28 request has no session to own a process
  const v2 = new V2Client({ name: 'upstream-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await v2.connect(new V2Http(s.url));
  await assert.rejects(v2.callTool({ name: 'ps__pid', arguments: {} }), /stateless 2026-07-28 request has none/);
  await v2.close();
  // the session ends (DELETE): its process stops and is reaped, and the
  // place is free for the third session
  await a.close();
  await until(async () => !alive(pa));
  const pc = await until(async () => {
    try {
      return await pidOf(c);
    } catch {
      return null;
    }
  });
  assert.ok(![pa, pb].includes(pc));
  // idle for longer than idle_timeout_ms: stopped; the next call starts a fresh one
  await until(async () => !alive(pb));
  const pb2 = await pidOf(b);
  assert.notEqual(pb2, pb);
  assert.equal(zombies(s.proc.pid), 0);
  await b.close();
  await c.close();
  await until(async () => (await sessionProcs()).length === 0);
});

test('chaos: upstream processes killed every 2 s for a minute; every call answered once', { timeout: 120000 }, async () => {
  const s = await start(fake('f', 'good', 'processes = 3\nintensity = 1000\nperiod_ms = 1000'));
  const c = await v1(s.url);
  await until(async () => (await c.client.listTools()).tools.length > 0);
  await until(async () => (await upstreams(s))[0].processes.every((p) => p.ready));
  const fdsBefore = fds(s.proc.pid);
  const order = { target: 'upstream_processes', name: 'f', fraction: 0.34, every_ms: 2000, for_ms: 60000 };
  assert.equal((await fetch(`${s.admin}/admin/chaos`, { method: 'POST', body: JSON.stringify(order) })).status, 200);
  const clients = await Promise.all(Array.from({ length: 8 }, () => v1(s.url)));
  const end = Date.now() + 60000;
  let ok = 0, restarted = 0, other = 0, sent = 0;
  await Promise.all(clients.map(async (k, i) => {
    while (Date.now() < end) {
      const readOnly = (sent++ % 2) === 0;
      try {
        const r = await k.client.callTool({ name: readOnly ? 'f__slow' : 'f__write', arguments: { ms: 40 + i } },
                                          undefined, { timeout: 30000 });
        assert.match(r.content[0].text, /done/);
        ok++;
      } catch (e) {
        if (!readOnly && /restarted/.test(e.message)) restarted++;
        else { other++; console.error('unexpected:', e.message); }
      }
    }
  }));
  for (const k of clients) await k.close();
  await c.close();
  assert.equal(ok + restarted + other, sent); // one answer each
  assert.equal(other, 0);
  assert.ok(ok > 100, `only ${ok} calls succeeded`);
  await until(async () => (await upstreams(s))[0].processes.every((p) => p.ready));
  assert.ok((await upstreams(s))[0].processes.some((p) => p.restarts > 5));
  assert.equal(zombies(s.proc.pid), 0);
  assert.ok(fds(s.proc.pid) <= fdsBefore + 2, `fds ${fdsBefore} -> ${fds(s.proc.pid)}`);
});
