// MCP authorization (issue 15): mcpvisor as an OAuth 2.1 resource server,
// with a small authorization server written for this test (keys made per
// run: RSA, P-256 and Ed25519; metadata, dynamic registration, an
// authorization endpoint that approves at once, PKCE-checked tokens). The
// official SDK 1.32 client's auth helpers go through discovery, the 401 →
// metadata → token → call path and a step-up on a tool that needs a scope;
// then tokens a client must never get through: expired, not yet valid,
// another issuer or audience, tampered, alg none, HS256 keyed with the
// public key, unknown keys (and the key set's refresh, rate-limited); a
// session presented by another subject; a WebSocket without a token.
// MCPVISOR_BIN names the binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

import { freePort, startServer, stopServer, until } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';

// -- the authorization server -------------------------------------------------

const b64 = (x) => Buffer.from(x).toString('base64url');
const keys = {
  'rsa-1': { alg: 'RS256', pair: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) },
  'ec-1': { alg: 'ES256', pair: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
  'ed-1': { alg: 'EdDSA', pair: crypto.generateKeyPairSync('ed25519') },
};
const published = new Set(['rsa-1', 'ec-1', 'ed-1']);
let jwksFetches = 0;
let grantable = new Set(['mcp']);
const codes = new Map();
let issuer;
let as;

function sign(claims, { kid = 'rsa-1', alg, header = {} } = {}) {
  const k = keys[kid];
  const h = { alg: alg ?? k.alg, typ: 'at+jwt', kid, ...header };
  const data = `${b64(JSON.stringify(h))}.${b64(JSON.stringify(claims))}`;
  let sig;
  if (h.alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(data), k.pair.privateKey);
  else if (h.alg === 'ES256') sig = crypto.sign('sha256', Buffer.from(data), { key: k.pair.privateKey, dsaEncoding: 'ieee-p1363' });
  else if (h.alg === 'EdDSA') sig = crypto.sign(null, Buffer.from(data), k.pair.privateKey);
  else if (h.alg === 'HS256') sig = crypto.createHmac('sha256', k.pair.publicKey.export({ type: 'spki', format: 'pem' })).update(data).digest();
  else sig = Buffer.alloc(0);
  return `${data}.${b64(sig)}`;
}

const now = () => Math.floor(Date.now() / 1000);
let resource;
const claimsFor = (sub, scope, extra = {}) =>
  ({ iss: issuer, sub, aud: resource, scope, iat: now(), exp: now() + 300, client_id: 'test', ...extra });

function readBody(req) {
  return new Promise((resolve) => { let s = ''; req.on('data', (d) => { s += d; }); req.on('end', () => resolve(s)); });
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function serveAs(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/.well-known/oauth-authorization-server') {
    return json(res, 200, {
      issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
      registration_endpoint: `${issuer}/register`, jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'], grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['none'],
    });
  }
  if (url.pathname === '/jwks') {
    jwksFetches += 1;
    const list = [...published].map((kid) => ({
      ...keys[kid].pair.publicKey.export({ format: 'jwk' }), kid, alg: keys[kid].alg, use: 'sig' }));
    return json(res, 200, { keys: list });
  }
  if (url.pathname === '/register' && req.method === 'POST') {
    const meta = JSON.parse(await readBody(req));
    return json(res, 201, { ...meta, client_id: `client-${crypto.randomUUID()}` });
  }
  if (url.pathname === '/authorize') {
    // the user approves at once, and grants what may be granted
    const q = url.searchParams;
    const scope = (q.get('scope') ?? '').split(' ').filter((s) => grantable.has(s)).join(' ');
    const code = crypto.randomUUID();
    codes.set(code, { challenge: q.get('code_challenge'), scope, resource: q.get('resource') });
    const back = new URL(q.get('redirect_uri'));
    back.searchParams.set('code', code);
    if (q.get('state')) back.searchParams.set('state', q.get('state'));
    res.writeHead(302, { Location: back.toString() });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const grant = codes.get(form.get('code'));
    codes.delete(form.get('code'));
    const verifier = form.get('code_verifier') ?? '';
    if (!grant || b64(crypto.createHash('sha256').update(verifier).digest()) !== grant.challenge)
      return json(res, 400, { error: 'invalid_grant' });
    const token = sign({ ...claimsFor('alice', grant.scope), aud: grant.resource ?? resource });
    return json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 300, scope: grant.scope });
  }
  res.writeHead(404);
  res.end();
}

class Provider {
  constructor() { this.saved = {}; }
  get redirectUrl() { return 'http://127.0.0.1:9/callback'; }
  get clientMetadata() {
    return { redirect_uris: [this.redirectUrl], client_name: 'auth-test', grant_types: ['authorization_code'],
             response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() { return this.saved.client; }
  saveClientInformation(c) { this.saved.client = c; }
  tokens() { return this.saved.tokens; }
  saveTokens(t) { this.saved.tokens = t; }
  redirectToAuthorization(url) { this.authUrl = url; }
  saveCodeVerifier(v) { this.saved.verifier = v; }
  codeVerifier() { return this.saved.verifier; }
}

/** Follows the authorization URL as a browser would; the code. */
async function approve(url) {
  const r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 302);
  return new URL(r.headers.get('location')).searchParams.get('code');
}

// -- the resource server --------------------------------------------------------

let server;
let admin;

before(async () => {
  const asPort = await freePort();
  issuer = `http://127.0.0.1:${asPort}`;
  as = http.createServer((req, res) => { serveAs(req, res).catch(() => { res.writeHead(500); res.end(); }); });
  await new Promise((resolve) => as.listen(asPort, '127.0.0.1', resolve));
  const port = await freePort();
  admin = `http://127.0.0.1:${await freePort()}`;
  resource = `http://127.0.0.1:${port}/mcp`;
  server = await startServer(BIN, ['--tools', 'drill', '--admin', admin.slice(7), '--meta-shards', '1',
                                   '--shards', '1', '--auth-issuer', issuer, '--auth-audience', resource,
                                   '--auth-jwks', `${issuer}/jwks`, '--auth-scope', '*=mcp',
                                   '--auth-scope', 'tool:bump=deploy'], process.env, port);
});

after(async () => {
  await stopServer(server);
  as.close();
});

const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

function post(token, { body = ping, session } = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (session) headers['Mcp-Session-Id'] = session;
  return fetch(server.url, { method: 'POST', headers, body });
}

test('protected resource metadata, and a 401 that points to it', async () => {
  const meta = await (await fetch(`http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp`)).json();
  assert.equal(meta.resource, resource);
  assert.deepEqual(meta.authorization_servers, [issuer]);
  assert.deepEqual(meta.scopes_supported.sort(), ['deploy', 'mcp']);
  const plain = await fetch(`http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource`);
  assert.equal(plain.status, 200);
  const r = await post(undefined);
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('www-authenticate'),
               `Bearer resource_metadata="http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp"`);
});

test('sdk 1.32 auth: discovery, registration, 401 → token → call, then step-up for a scoped tool', async () => {
  grantable = new Set(['mcp']);
  const provider = new Provider();
  let transport = new StreamableHTTPClientTransport(server.url, { authProvider: provider });
  let client = new Client({ name: 'auth-test', version: '1.0.0' });
  await assert.rejects(client.connect(transport), UnauthorizedError);
  assert.ok(provider.authUrl, 'the SDK asked for authorization');
  assert.equal(provider.authUrl.searchParams.get('resource'), resource);
  await transport.finishAuth(await approve(provider.authUrl));
  transport = new StreamableHTTPClientTransport(server.url, { authProvider: provider });
  client = new Client({ name: 'auth-test', version: '1.0.0' });
  await client.connect(transport);
  const me = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(me.content[0].text, 'alice mcp');
  // the tool needs `deploy`: 403 insufficient_scope, the SDK asks again
  // for every scope the request needs
  provider.authUrl = undefined;
  await assert.rejects(client.callTool({ name: 'bump', arguments: {} }), UnauthorizedError);
  assert.equal(provider.authUrl.searchParams.get('scope'), 'mcp deploy');
  grantable = new Set(['mcp', 'deploy']);
  await transport.finishAuth(await approve(provider.authUrl));
  const bumped = await client.callTool({ name: 'bump', arguments: {} });
  assert.ok(!bumped.isError);
  const me2 = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(me2.content[0].text, 'alice mcp deploy');
  // another subject presenting alice's session: there is no such session
  const bob = sign(claimsFor('bob', 'mcp deploy'));
  const list = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
  assert.equal((await post(bob, { body: list, session: transport.sessionId })).status, 404);
  const del = await fetch(server.url, { method: 'DELETE',
    headers: { Authorization: `Bearer ${bob}`, 'Mcp-Session-Id': transport.sessionId } });
  assert.equal(del.status, 404);
  // nor without the binding tag
  assert.equal((await post(sign(claimsFor('alice', 'mcp')),
                           { body: list, session: transport.sessionId.split('.')[0] })).status, 404);
  // alice's session is untouched
  const again = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(again.content[0].text, 'alice mcp deploy');
  // the admin view shows whose session it is, never the token
  const page = await (await fetch(`${admin}/admin/tree/0/0`)).text();
  assert.match(page, /"subject":"alice","scopes":"mcp"/);
  assert.ok(!page.includes(provider.tokens().access_token.split('.')[2]));
  await client.close();
});

test('tokens that must not pass', async () => {
  const good = claimsFor('carol', 'mcp');
  const tampered = (() => {
    const [h, , s] = sign(good).split('.');
    return `${h}.${b64(JSON.stringify({ ...good, sub: 'mallory' }))}.${s}`;
  })();
  const none = `${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64(JSON.stringify(good))}.`;
  const cases = {
    expired: sign({ ...good, exp: now() - 3600 }),
    'not yet valid': sign({ ...good, nbf: now() + 3600 }),
    'wrong issuer': sign({ ...good, iss: 'http://127.0.0.1:1' }),
    'wrong audience': sign({ ...good, aud: 'https://elsewhere.example/mcp' }),
    'another resource of this host': sign({ ...good, aud: `http://127.0.0.1:${server.port}/other` }),
    'no expiry': sign({ ...good, exp: undefined }),
    'no subject': sign({ ...good, sub: undefined }),
    'tampered claims': tampered,
    'alg none': none,
    'HS256 keyed with the public key': sign(good, { alg: 'HS256' }),
    'RS256 header on the EC key': sign(good, { kid: 'ec-1', alg: 'RS256' }),
    garbage: 'not.a.token',
    'critical header': sign(good, { header: { crit: ['exp'] } }),
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await post(token);
    assert.equal(r.status, 401, name);
    const challenge = r.headers.get('www-authenticate');
    assert.match(challenge, /^Bearer resource_metadata="[^"]+", error="invalid_token"/, name);
    assert.ok(!challenge.includes(token), `${name}: the token is not echoed`);
    const body = await r.json();
    assert.equal(body.error.code, -32600, name);
  }
  // a token without the scope every request needs: no stream, no DELETE
  const noScope = sign(claimsFor('carol', 'other'));
  const stream = await fetch(server.url, { headers: { Authorization: `Bearer ${noScope}`, Accept: 'text/event-stream' } });
  assert.equal(stream.status, 403);
  assert.match(stream.headers.get('www-authenticate'), /error="insufficient_scope", .*scope="mcp"/);
  assert.equal((await post(noScope)).status, 403);
  // Basic credentials are not a bearer token
  const basic = await fetch(server.url, { method: 'POST', body: ping, headers: {
    Authorization: 'Basic YWxpY2U6cGFzcw==', 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' } });
  assert.equal(basic.status, 401);
  // every signing algorithm of the key set works
  for (const kid of ['rsa-1', 'ec-1', 'ed-1']) {
    const r = await post(sign(good, { kid }));
    assert.equal(r.status, 200, kid);
  }
});

test('2026-07-28 requests: the token is checked per request, and tasks belong to their subject', async () => {
  const stateless = async (token, method, params) => {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': method };
    const name = params.name ?? params.taskId;
    if (name) headers['Mcp-Name'] = name;
    if (token) headers.Authorization = `Bearer ${token}`;
    const r = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify({
      jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } } } } }) });
    return { status: r.status, body: r.status === 200 ? await r.json() : null };
  };
  const alice = sign(claimsFor('alice', 'mcp'));
  const bob = sign(claimsFor('bob', 'mcp'));
  assert.equal((await stateless(undefined, 'tools/call', { name: 'whoami', arguments: {} })).status, 401);
  const me = await stateless(alice, 'tools/call', { name: 'whoami', arguments: {} });
  assert.equal(me.body.result.content[0].text, 'alice mcp');
  // a task is found by its subject only
  const task = await stateless(alice, 'tools/call', { name: 'sleep', arguments: { ms: 10 } });
  const taskId = task.body.result.taskId;
  assert.ok(taskId);
  assert.equal((await stateless(bob, 'tasks/get', { taskId })).body.error.code, -32602);
  assert.equal((await stateless(bob, 'tasks/cancel', { taskId })).body.error.code, -32602);
  assert.ok((await stateless(alice, 'tasks/get', { taskId })).body.result.status);
});

test('a key the server has not seen: the key set is fetched again, at most once per 30 s', async () => {
  keys['rsa-2'] = { alg: 'RS256', pair: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) };
  keys['ec-2'] = { alg: 'ES256', pair: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) };
  published.add('rsa-2');
  const before = jwksFetches;
  const token = sign(claimsFor('dave', 'mcp'), { kid: 'rsa-2' });
  // the first request names an unknown key and starts a refresh
  await until(async () => (await post(token)).status === 200, 10000);
  assert.equal(jwksFetches, before + 1);
  // a flood of unknown keys does not make the server fetch again
  published.add('ec-2');
  const unknown = sign(claimsFor('dave', 'mcp'), { kid: 'ec-2' });
  for (let i = 0; i < 20; i += 1) assert.equal((await post(unknown)).status, 401);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(jwksFetches, before + 1);
});

test('WebSocket: the upgrade needs a token, and the token\'s scopes rule its messages', async () => {
  const ws = `ws://127.0.0.1:${server.port}/mcp`;
  const refused = await new Promise((resolve) => {
    const s = new WebSocket(ws, 'mcp');
    s.onopen = () => resolve('opened');
    s.onerror = () => resolve('refused');
  });
  assert.equal(refused, 'refused');
  const raw = await fetch(server.url, { headers: { Connection: 'Upgrade', Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': b64(crypto.randomBytes(16)), 'Sec-WebSocket-Protocol': 'mcp' } })
    .catch(() => null);
  if (raw) assert.equal(raw.status, 401);
  const s = new WebSocket(ws, { protocols: 'mcp', headers: { Authorization: `Bearer ${sign(claimsFor('erin', 'mcp'))}` } });
  const got = [];
  s.onmessage = (e) => got.push(JSON.parse(e.data));
  await new Promise((resolve, reject) => { s.onopen = resolve; s.onerror = reject; });
  s.send(ping);
  s.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }));
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'bump', arguments: {} } }));
  await until(() => got.length >= 3);
  const byId = Object.fromEntries(got.map((m) => [m.id, m]));
  assert.equal(byId[2].result.content[0].text, 'erin mcp');
  assert.match(byId[3].error.message, /lacks the scope deploy/);
  s.close();
  // a connection opened with a token ends when the token expires (1008)
  const brief = new WebSocket(ws, { protocols: 'mcp',
    headers: { Authorization: `Bearer ${sign(claimsFor('erin', 'mcp', { exp: now() + 2 }))}` } });
  const closed = new Promise((resolve) => { brief.onclose = (e) => resolve(e.code); });
  await new Promise((resolve, reject) => { brief.onopen = resolve; brief.onerror = reject; });
  assert.equal(await closed, 1008);
});

test('a configuration that would look protected and is not is refused at start', () => {
  const run = (args) => spawnSync(BIN, ['--listen', '127.0.0.1:0', ...args], { encoding: 'utf8', timeout: 10000 });
  const noIssuer = run(['--auth-scope', 'tool:bump=deploy']);
  assert.equal(noIssuer.status, 2);
  assert.match(noIssuer.stderr, /need --auth-issuer/);
  const plainJwks = run(['--auth-issuer', issuer, '--auth-audience', resource,
                         '--auth-jwks', 'http://keys.example.com/jwks']);
  assert.equal(plainJwks.status, 2);
  assert.match(plainJwks.stderr, /must be an https:\/\/ URL/);
});
