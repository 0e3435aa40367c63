// HTTPS (issue 15): mcpvisor with --tls-cert/--tls-key and a throwaway CA
// made here with the openssl tool; curl with --cacert, the official SDK
// client over https (NODE_EXTRA_CA_CERTS), refusals (another CA, plain
// HTTP on the TLS port, old TLS versions, a silent or half-done handshake),
// client certificates, and a certificate reloaded on SIGHUP under load.
// MCPVISOR_BIN names the binary.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startServer, stopServer, freePort } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const NODE = process.execPath;
const running = [];
after(async () => { for (const s of running) await stopServer(s); });

const dir = mkdtempSync(join(tmpdir(), 'mcpvisor-tls-'));
const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA named `name`: name.pem and name.key. */
function ca(name) {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
          '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
}

/** A certificate `name` signed by CA `by`, for localhost and 127.0.0.1. */
function cert(name, by, usage = 'serverAuth') {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
          '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`),
                `subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=${usage}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.pem`, '-CAkey', `${by}.key`,
          '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

ca('ca');
ca('other-ca');
cert('server', 'ca');
cert('server2', 'other-ca');
cert('client', 'ca', 'clientAuth');
cert('stranger', 'other-ca', 'clientAuth');
// the files the server is started with; replaced before a SIGHUP
copyFileSync(join(dir, 'server.pem'), join(dir, 'live.pem'));
copyFileSync(join(dir, 'server.key'), join(dir, 'live.key'));

const f = (name) => join(dir, name);
const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'tls', version: '1' } } });

async function tlsServer(extra = []) {
  const admin = await freePort();
  const s = await startServer(BIN, ['--tls-cert', f('live.pem'), '--tls-key', f('live.key'),
                                    '--admin', `127.0.0.1:${admin}`, ...extra]);
  s.https = `https://127.0.0.1:${s.port}/mcp`;
  s.admin = `https://127.0.0.1:${admin}`;
  running.push(s);
  return s;
}

function curl(args) {
  return spawnSync('curl', ['-s', '-S', ...args], { encoding: 'utf8', timeout: 15000 });
}

const mcpHeaders = ['-H', 'Content-Type: application/json', '-H', 'Accept: application/json, text/event-stream'];

test('curl over https with the CA; refused with another CA, TLS 1.1, or plain HTTP', async () => {
  const s = await tlsServer();
  assert.match(s.log(), /"url":"https:\/\/127\.0\.0\.1/);
  const ok = curl(['-i', '--cacert', f('ca.pem'), ...mcpHeaders, '-d', init, s.https]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^HTTP\/1\.1 200/);
  assert.match(ok.stdout, /mcp-session-id: /i);
  // ALPN says http/1.1
  const v = curl(['-v', '--cacert', f('ca.pem'), '-o', '/dev/null', `${s.admin}/healthz`]);
  assert.match(v.stderr, /ALPN: server accepted http\/1\.1/);
  assert.match(v.stderr, /TLSv1\.3/);
  const other = curl(['--cacert', f('other-ca.pem'), ...mcpHeaders, '-d', init, s.https]);
  assert.equal(other.status, 60, 'the certificate is not trusted under another CA');
  const old = curl(['--cacert', f('ca.pem'), '--tls-max', '1.1', ...mcpHeaders, '-d', init, s.https]);
  assert.notEqual(old.status, 0);
  assert.match(old.stderr, /protocol version|alert/);
  const plain = curl(['-i', ...mcpHeaders, '-d', init, `http://127.0.0.1:${s.port}/mcp`]);
  assert.match(plain.stdout, /^HTTP\/1\.1 400/);
  assert.match(plain.stdout, /this port speaks HTTPS: use an https:\/\/ URL/);
  // the admin endpoint speaks TLS with the same pair
  const health = curl(['--cacert', f('ca.pem'), `${s.admin}/healthz`]);
  assert.equal(health.stdout, '{"status":"ok"}');
});

test('the official SDK client over https (NODE_EXTRA_CA_CERTS): list, call, progress over SSE; and over wss://', async () => {
  const s = await tlsServer();
  const script = `
    import { Client } from '@modelcontextprotocol/sdk/client/index.js';
    import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
    const client = new Client({ name: 'tls-sdk', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(process.argv[1]));
    await client.connect(transport);
    const tools = await client.listTools();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'over tls' } });
    const progress = [];
    await client.callTool({ name: 'countdown', arguments: { seconds: 1 } }, undefined,
                          { onprogress: (p) => progress.push(p.progress) });
    await transport.terminateSession();
    await client.close();
    // the same server over wss:// (WebSocket over TLS): pipelined calls,
    // then a normal close (the close frame goes out before TLS shuts down)
    const { WebSocketClientTransport } = await import('@modelcontextprotocol/sdk/client/websocket.js');
    const wsUrl = new URL(process.argv[1].replace('https://', 'wss://'));
    const wsClient = new Client({ name: 'tls-ws', version: '1.0.0' });
    await wsClient.connect(new WebSocketClientTransport(wsUrl));
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      wsClient.callTool({ name: 'echo', arguments: { text: 'wss ' + i } })));
    await wsClient.close();
    console.log(JSON.stringify({ tools: tools.tools.length, echo: echo.content[0].text, progress,
                                 wss: many.map((m) => m.content[0].text) }));
  `;
  const r = spawnSync(NODE, ['--input-type=module', '-e', script, s.https],
                      { cwd: new URL('.', import.meta.url).pathname, encoding: 'utf8', timeout: 30000,
                        env: { ...process.env, NODE_EXTRA_CA_CERTS: f('ca.pem') } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.ok(out.tools >= 4);
  assert.equal(out.echo, 'over tls');
  assert.ok(out.progress.length >= 1, JSON.stringify(out));
  assert.deepEqual(out.wss, Array.from({ length: 50 }, (_, i) => `wss ${i}`));
});

test('a silent client and a half-done handshake are cut off after the handshake timeout', async () => {
  const s = await tlsServer();
  const closedAfter = (bytes) => new Promise((resolve) => {
    const t0 = Date.now();
    const sock = connect(s.port, '127.0.0.1', () => { if (bytes) sock.write(bytes); });
    sock.on('data', () => {});
    sock.on('close', () => resolve(Date.now() - t0));
    sock.on('error', () => {});
    setTimeout(() => { sock.destroy(); resolve(Infinity); }, 20000);
  });
  // a TLS record header that promises a ClientHello and never sends it
  const [silent, half] = await Promise.all([closedAfter(null),
                                            closedAfter(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))]);
  assert.ok(silent >= 9000 && silent < 15000, `silent: ${silent} ms`);
  assert.ok(half >= 9000 && half < 15000, `half-done: ${half} ms`);
  // and the server still serves
  const ok = curl(['--cacert', f('ca.pem'), `${s.admin}/healthz`]);
  assert.equal(ok.stdout, '{"status":"ok"}');
});

test('client certificates: required and checked against --tls-client-ca', async () => {
  const s = await tlsServer(['--tls-client-ca', f('ca.pem')]);
  const none = curl(['--cacert', f('ca.pem'), ...mcpHeaders, '-d', init, s.https]);
  assert.notEqual(none.status, 0, 'no client certificate: refused');
  const stranger = curl(['--cacert', f('ca.pem'), '--cert', f('stranger.pem'), '--key', f('stranger.key'),
                         ...mcpHeaders, '-d', init, s.https]);
  assert.notEqual(stranger.status, 0, 'a client certificate of another CA: refused');
  const ok = curl(['-i', '--cacert', f('ca.pem'), '--cert', f('client.pem'), '--key', f('client.key'),
                   ...mcpHeaders, '-d', init, s.https]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^HTTP\/1\.1 200/);
});

test('SIGHUP reloads the certificate under load: new handshakes use the new pair, open connections go on', async () => {
  copyFileSync(f('server.pem'), f('live.pem'));
  copyFileSync(f('server.key'), f('live.key'));
  const s = await tlsServer();
  // keep-alive connections that trust only the first CA, calling all along
  const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: [execFileSync('cat', [f('ca.pem')])] });
  const sid = (curl(['-i', '--cacert', f('ca.pem'), ...mcpHeaders, '-d', init, s.https]).stdout
    .match(/mcp-session-id: (\S+)/i) ?? [])[1];
  assert.ok(sid);
  let stop = false;
  let ok = 0;
  const errors = [];
  const call = (id) => new Promise((resolve) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call',
                                  params: { name: 'echo', arguments: { text: 'x' } } });
    const req = httpsRequest(s.https, { method: 'POST', agent, headers: {
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      'Mcp-Session-Id': sid, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { if (res.statusCode === 200 && text.includes('"result"')) ok++; else errors.push(text); resolve(); });
    });
    req.on('error', (e) => { errors.push(String(e)); resolve(); });
    req.end(body);
  });
  const workers = Array.from({ length: 4 }, async (_, w) => {
    for (let k = 0; !stop; k++) await call(w * 1e6 + k + 10);
  });
  await new Promise((r) => setTimeout(r, 1000));
  copyFileSync(f('server2.pem'), f('live.pem'));
  copyFileSync(f('server2.key'), f('live.key'));
  s.proc.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 1500));
  stop = true;
  await Promise.all(workers);
  assert.match(s.log(), /TLS certificate reloaded/);
  assert.deepEqual(errors, [], 'calls on open connections across the reload');
  assert.ok(ok > 50, `calls: ${ok}`);
  // new handshakes: the new certificate, under the other CA
  assert.equal(curl(['--cacert', f('other-ca.pem'), `${s.admin}/healthz`]).stdout, '{"status":"ok"}');
  assert.equal(curl(['--cacert', f('ca.pem'), `${s.admin}/healthz`]).status, 60);
  // a broken file keeps the pair in use
  writeFileSync(f('live.key'), 'not a key');
  s.proc.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 500));
  assert.match(s.log(), /TLS certificate not reloaded; the old one stays/);
  assert.equal(curl(['--cacert', f('other-ca.pem'), `${s.admin}/healthz`]).stdout, '{"status":"ok"}');
  agent.destroy();
});
