// The example server (examples/word-tools), built against an installed
// mcpvisor (tests/example.sh), called with the official SDK clients: its own
// tools and prompt, progress, both revisions, and a built-in set alongside.
// EXAMPLE_BIN names the binary.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Http } from '@modelcontextprotocol/client';

import { startServer, stopServer } from './support.mjs';

const BIN = process.env.EXAMPLE_BIN;
const servers = [];

after(async () => {
  for (const s of servers) await stopServer(s);
});

async function start(args = []) {
  const s = await startServer(BIN, ['--scheduler-threads', '2', ...args]);
  servers.push(s);
  return s;
}

test('a 2025-11-25 session lists and calls the program\'s own tools', async () => {
  const s = await start();
  const client = new V1Client({ name: 'example-v1', version: '1.0.0' });
  const transport = new V1Http(s.url);
  await client.connect(transport);
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['top_words', 'word_count']);
  const wc = await client.callTool({ name: 'word_count', arguments: { text: 'one two\nthree' } });
  assert.deepEqual(wc.structuredContent, { words: 3, lines: 2, characters: 13 });
  const text = Array(3000).fill('b a b').join(' ');
  const seen = [];
  const top = await client.callTool({ name: 'top_words', arguments: { text, count: 2 } },
                                    undefined, { onprogress: (p) => seen.push(p.progress) });
  assert.equal(top.content[0].text, 'b 6000\na 3000\n');
  assert.deepEqual(seen, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  const bad = await client.callTool({ name: 'word_count', arguments: {} });
  assert.equal(bad.isError, true); // the schema says what is missing
  const p = await client.getPrompt({ name: 'summarise', arguments: { text: 'hello', style: 'one line' } });
  assert.match(p.messages[0].content.text, /one line:\n\nhello/);
  await transport.terminateSession();
  await client.close();
});

test('a 2026-07-28 client calls the same tools without a session', async () => {
  const s = await start();
  const client = new V2Client({ name: 'example-v2', version: '1.0.0' },
                              { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new V2Http(s.url));
  const r = await client.callTool({ name: 'word_count', arguments: { text: 'a b c d' } });
  assert.equal(r.structuredContent.words, 4);
  await client.close();
});

test('the built-in sets stay available with --tools', async () => {
  const s = await start(['--tools', 'default']);
  const client = new V1Client({ name: 'example-both', version: '1.0.0' });
  const transport = new V1Http(s.url);
  await client.connect(transport);
  const names = (await client.listTools()).tools.map((t) => t.name);
  assert.ok(names.includes('echo') && names.includes('word_count'));
  await transport.terminateSession();
  await client.close();
});
