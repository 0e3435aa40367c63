// The admin page (GET /admin/) in headless Chromium (Debian's chromium,
// driven by playwright-core, pinned): it loads, shows the supervision tree
// of a running mcpvisor, and updates after a crash is injected through
// /admin/chaos. Run with: node --test tests/node/admin_page.test.mjs
// (MCPVISOR_BIN names the binary, CHROMIUM the browser).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { chromium } from 'playwright-core';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let server;
let browser;

/** Starts mcpvisor on free ports; resolves with its MCP and admin URLs. */
function startServer(extra = []) {
  const proc = spawn(BIN, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
                           '--tools', 'default', '--meta-shards', '2',
                           '--shards', '4', ...extra],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ready line: ${err}`)), 10000);
    proc.stderr.on('data', (d) => {
      err += d;
      const line = err.split('\n').find((l) => l.includes('"ready"'));
      if (line) {
        clearTimeout(timer);
        const ready = JSON.parse(line);
        resolve({ proc, mcp: ready.url, admin: ready.admin });
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

async function initialize(url) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json',
               Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
                           params: { protocolVersion: '2025-11-25', capabilities: {},
                                     clientInfo: { name: 'page-test', version: '1' } } }),
  });
  assert.equal(r.status, 200);
  return r.headers.get('mcp-session-id');
}

before(async () => {
  server = await startServer();
  // the flags keep Chromium off the network this machine does not have
  // (playwright gives it a fresh profile of its own)
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (server) {
    const exited = new Promise((resolve) => server.proc.on('exit', resolve));
    server.proc.kill('SIGTERM');
    await exited;
  }
});

test('the page shows the live tree and follows an injected crash', async () => {
  await initialize(server.mcp);
  await initialize(server.mcp);
  await initialize(server.mcp);
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${server.admin}/admin/`);
  // the tree: two meta-shards of four shards, three sessions, no restarts
  await page.waitForSelector('#andon[data-state="released"]');
  await page.waitForFunction(() => document.querySelectorAll('.shard').length === 8);
  assert.equal(await page.locator('section.meta').count(), 2);
  assert.equal(await page.textContent('#total-sessions'), '3');
  assert.equal(await page.textContent('#total-restarts'), '0');
  assert.match(await page.textContent('#ready'), /^ready$/);
  assert.match(await page.textContent('#services'), /andon/);
  // a crash injected in shard 1-2: the page shows the restart by itself
  const chaos = await fetch(`${server.admin}/admin/chaos`, {
    method: 'POST', body: JSON.stringify({ target: 'shard', meta: 1, shard: 2 }),
  });
  assert.equal(chaos.status, 200);
  await page.waitForSelector('.shard[data-id="shard-1-2"][data-restarts="1"]',
                             { timeout: 5000 });
  await page.waitForFunction(
    () => document.querySelector('#total-restarts').textContent === '1');
  assert.equal(await page.getAttribute('section.meta[data-id="meta-1"]', 'data-restarts'), '1');
  assert.equal(await page.getAttribute('.shard[data-id="shard-0-0"]', 'data-restarts'), '0');
  // the andon cord pulled by hand shows too
  await fetch(`${server.admin}/admin/andon`, {
    method: 'POST', body: JSON.stringify({ action: 'pull', reason: 'page test' }),
  });
  await page.waitForSelector('#andon[data-state="pulled"]', { timeout: 5000 });
  assert.match(await page.textContent('#andon-reason'), /page test/);
  assert.match(await page.textContent('#ready'), /not ready/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('with a token, the page reads it from the URL fragment', async () => {
  const guarded = await startServer(['--admin-token', 'page-secret']);
  try {
    const denied = await fetch(`${guarded.admin}/admin/tree`);
    assert.equal(denied.status, 401);
    const page = await browser.newPage();
    await page.goto(`${guarded.admin}/admin/#token=page-secret`);
    await page.waitForFunction(() => document.querySelectorAll('.shard').length === 8);
    assert.equal(await page.textContent('#error'), '');
    await page.close();
  } finally {
    const exited = new Promise((resolve) => guarded.proc.on('exit', resolve));
    guarded.proc.kill('SIGTERM');
    await exited;
  }
});
