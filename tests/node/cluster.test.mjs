// A cluster of mcpvisor nodes on 127.0.0.1 (issue 14, joining): mutual TLS
// with certificates from `mcpvisor cluster-certs`, a full mesh learnt from
// seeds, a SIGKILLed node seen down and seen up again when it restarts,
// and every kind of peer that must not get in refused while the cluster
// keeps serving. MCPVISOR_BIN names the binary, PLAIN_CAF_CLIENT the test
// program tests/cluster/plain_caf_client.cpp.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { freePort, startServer, stopServer, until } from './support.mjs';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const PLAIN = process.env.PLAIN_CAF_CLIENT ?? 'build/tests/plain-caf-client';
const running = new Set();

after(async () => {
  for (const s of running) await stopServer(s);
});

function certs() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpvisor-certs-'));
  execFileSync(BIN, ['cluster-certs', dir, '--nodes', '4']);
  return dir;
}

const tls = (dir, i) => ['--cluster-tls-ca', join(dir, 'ca.pem'),
                         '--cluster-tls-cert', join(dir, `node-${i}.pem`),
                         '--cluster-tls-key', join(dir, `node-${i}.key`)];

/** Node `name` with its cluster port, seeds and certificates. */
async function node(name, clusterPort, seeds, tlsArgs) {
  const admin = await freePort();
  const s = await startServer(BIN, ['--admin', `127.0.0.1:${admin}`, '--node-name', name,
                                    '--cluster-listen', `127.0.0.1:${clusterPort}`,
                                    ...seeds.flatMap((p) => ['--join', `127.0.0.1:${p}`]),
                                    '--cluster-heartbeat-ms', '200', '--cluster-timeout-ms', '1000',
                                    ...tlsArgs]);
  s.admin = `http://127.0.0.1:${admin}`;
  running.add(s);
  return s;
}

const members = async (s) => (await (await fetch(`${s.admin}/admin/cluster`)).json()).members;
const upNames = async (s) => (await members(s)).filter((m) => m.state === 'up').map((m) => m.name).sort();

async function answers(s) {
  const client = new Client({ name: 'cluster-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(s.url);
  await client.connect(transport);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  await transport.terminateSession();
  await client.close();
  return r.content[0].text === 'hi';
}

test('a cluster port needs all three TLS files', () => {
  const r = spawnSync(BIN, ['--listen', '127.0.0.1:0', '--cluster-listen', '127.0.0.1:1'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /needs --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca/);
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
});
