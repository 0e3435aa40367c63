// Interop with the official TypeScript SDK clients against the real mcpvisor
// binary: @modelcontextprotocol/sdk 1.32 (2025-11-25 sessions) over
// Streamable HTTP and stdio, and @modelcontextprotocol/client 2.x pinned to
// 2026-07-28. Run with: node --test tests/node/interop.test.mjs
// (MCPVISOR_BIN names the binary).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopServer } from './support.mjs';

import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport as V1Stdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, CreateMessageRequestSchema, ElicitationCompleteNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Http } from '@modelcontextprotocol/client';

const BIN = process.env.MCPVISOR_BIN ?? 'build/mcpvisor';

/** mcpvisor with a built-in tool set. */
function startMcpvisor(tools) {
  return startServer(BIN, ['--tools', tools, '--scheduler-threads', '2', '--workers', '16']);
}

let conformance;
let defaults;

before(async () => {
  conformance = await startMcpvisor('conformance');
  defaults = await startMcpvisor('default');
});

after(async () => {
  await stopServer(conformance);
  await stopServer(defaults);
});

async function v1Connect(url, capabilities = {}) {
  const client = new V1Client({ name: 'interop-v1', version: '1.0.0' }, { capabilities });
  const transport = new V1Http(url);
  await client.connect(transport);
  return { client, transport };
}

async function v1Close({ client, transport }) {
  await transport.terminateSession().catch(() => {});
  await client.close();
}

test('sdk 1.32 over HTTP: list, call, read, get', async () => {
  const c = await v1Connect(conformance.url);
  assert.equal(c.transport.protocolVersion ?? '2025-11-25', '2025-11-25');
  const tools = await c.client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'test_simple_text'));
  const r = await c.client.callTool({ name: 'test_simple_text', arguments: {} });
  assert.equal(r.content[0].text, 'This is a simple text response for testing.');
  const res = await c.client.readResource({ uri: 'test://template/7/data' });
  assert.equal(JSON.parse(res.contents[0].text).id, '7');
  const p = await c.client.getPrompt({ name: 'test_prompt_with_arguments',
                                       arguments: { arg1: 'a', arg2: 'b' } });
  assert.match(p.messages[0].content.text, /arg1='a'/);
  await assert.rejects(c.client.callTool({ name: 'no_such_tool', arguments: {} }), /unknown tool/);
  await v1Close(c);
});

test('sdk 1.32 over HTTP: progress notifications reach onprogress', async () => {
  const c = await v1Connect(conformance.url);
  const seen = [];
  await c.client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined,
                          { onprogress: (p) => seen.push(p.progress) });
  assert.deepEqual(seen, [0, 50, 100]);
  await v1Close(c);
});

test('sdk 1.32 over HTTP: an elicitation and a sampling round', async () => {
  const c = await v1Connect(conformance.url, { elicitation: {}, sampling: {} });
  c.client.setRequestHandler(ElicitRequestSchema, async (req) => {
    assert.equal(req.params.message, 'Who are you?');
    return { action: 'accept', content: { response: 'Ada' } };
  });
  c.client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm', stopReason: 'endTurn' }));
  const e = await c.client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
  assert.match(e.content[0].text, /action=accept/);
  assert.match(e.content[0].text, /Ada/);
  const s = await c.client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital?' } });
  assert.equal(s.content[0].text, 'LLM response: Paris');
  await v1Close(c);
});

test('sdk 1.32 over HTTP: URL-mode elicitation, then notifications/elicitation/complete', async () => {
  const c = await v1Connect(conformance.url, { elicitation: { url: {} } });
  let asked;
  c.client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked = req.params;
    return { action: 'accept' };
  });
  const completed = new Promise((resolve) =>
    c.client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => resolve(n.params)));
  const r = await c.client.callTool({ name: 'test_elicitation_url_complete', arguments: {} });
  assert.equal(r.content[0].text, 'signed in');
  assert.equal(asked.mode, 'url');
  assert.ok(asked.url.endsWith(`state=${asked.elicitationId}`));
  assert.equal((await completed).elicitationId, asked.elicitationId);
  await v1Close(c);
});

test('sdk 1.32 over HTTP: cancelling a call stops the tool', async () => {
  const c = await v1Connect(defaults.url);
  const progress = [];
  const ac = new AbortController();
  const call = c.client.callTool({ name: 'countdown', arguments: { seconds: 10 } }, undefined,
                                 { signal: ac.signal, onprogress: (p) => progress.push(p.progress) });
  await new Promise((r) => setTimeout(r, 1300));
  ac.abort();
  await assert.rejects(call);
  const atAbort = progress.length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(progress.length, atAbort, 'no progress after cancellation');
  // the session still serves
  const r = await c.client.callTool({ name: 'echo', arguments: { text: 'still here' } });
  assert.equal(r.content[0].text, 'still here');
  await v1Close(c);
});

test('sdk 1.32 over stdio: list, call, read, get, elicitation', async () => {
  const transport = new V1Stdio({ command: BIN, args: ['--stdio', '--tools', 'conformance'],
                                  stderr: 'ignore' });
  const client = new V1Client({ name: 'interop-stdio', version: '1.0.0' },
                              { capabilities: { elicitation: {} } });
  await client.connect(transport);
  const tools = await client.listTools();
  assert.ok(tools.tools.length > 10);
  const r = await client.callTool({ name: 'test_multiple_content_types', arguments: {} });
  assert.equal(r.content.length, 3);
  const res = await client.readResource({ uri: 'test://static-text' });
  assert.match(res.contents[0].text, /static text resource/);
  const p = await client.getPrompt({ name: 'test_simple_prompt' });
  assert.equal(p.messages.length, 1);
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
  const e = await client.callTool({ name: 'test_elicitation', arguments: { message: 'hi' } });
  assert.match(e.content[0].text, /action=decline/);
  // What the server sent, in order, as the transport received it: SDK 1.x
  // runs notification handlers a microtask later than it settles a
  // response, so when the last progress notification and the result
  // arrive in one read, `onprogress` never sees that notification.
  const wire = [];
  const deliver = transport.onmessage;
  transport.onmessage = (m, extra) => {
    if (m.method === 'notifications/progress') wire.push(m.params.progress);
    else if (m.id !== undefined && m.result !== undefined) wire.push('result');
    deliver(m, extra);
  };
  const progress = [];
  await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined,
                        { onprogress: (x) => progress.push(x.progress) });
  assert.deepEqual(wire.slice(-4), [0, 50, 100, 'result']);
  assert.deepEqual(progress, [0, 50, 100].slice(0, progress.length));
  assert.ok(progress.length >= 2);
  await client.close();
});

async function v2Connect(url) {
  const client = new V2Client({ name: 'interop-v2', version: '2.0.0' },
                              { capabilities: { elicitation: {} },
                                versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new V2Http(url));
  return client;
}

test('client 2.x pinned to 2026-07-28: list, call, read, get, progress', async () => {
  const client = await v2Connect(conformance.url);
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'test_input_required_result_elicitation'));
  const r = await client.callTool({ name: 'test_simple_text', arguments: {} });
  assert.equal(r.content[0].text, 'This is a simple text response for testing.');
  const res = await client.readResource({ uri: 'test://static-binary' });
  assert.ok(res.contents[0].blob.length > 0);
  const p = await client.getPrompt({ name: 'test_prompt_with_image' });
  assert.equal(p.messages[0].content.type, 'image');
  const seen = [];
  await client.callTool({ name: 'test_tool_with_progress', arguments: {} },
                        { onprogress: (x) => seen.push(x.progress) });
  assert.deepEqual(seen, [0, 50, 100]);
  await client.close();
});

test('client 2.x pinned to 2026-07-28: an elicitation round (input_required)', async () => {
  const client = await v2Connect(conformance.url);
  let asked = 0;
  client.setRequestHandler('elicitation/create', async (req) => {
    asked += 1;
    assert.equal(req.params.message, 'What is your name?');
    return { action: 'accept', content: { name: 'Grace' } };
  });
  const r = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
  assert.equal(r.content[0].text, 'Hello, Grace!');
  assert.equal(asked, 1);
  await client.close();
});

test('client 2.x pinned to 2026-07-28: cancelling a call', async () => {
  const client = await v2Connect(defaults.url);
  const ac = new AbortController();
  const progress = [];
  const call = client.callTool({ name: 'countdown', arguments: { seconds: 10 } },
                               { signal: ac.signal, onprogress: (x) => progress.push(x.progress) });
  await new Promise((r) => setTimeout(r, 1300));
  ac.abort();
  await assert.rejects(call);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'after' } });
  assert.equal(r.content[0].text, 'after');
  await client.close();
});

test('50 concurrent sessions making calls', async () => {
  const clients = await Promise.all(Array.from({ length: 50 }, () => v1Connect(conformance.url)));
  const results = await Promise.all(clients.map(async (c, i) => {
    const texts = [];
    for (let k = 0; k < 5; ++k) {
      const r = await c.client.callTool({ name: 'test_simple_text', arguments: {} });
      texts.push(r.content[0].text);
    }
    const p = await c.client.getPrompt({ name: 'test_prompt_with_arguments',
                                         arguments: { arg1: `s${i}`, arg2: 'x' } });
    texts.push(p.messages[0].content.text);
    return texts;
  }));
  assert.equal(results.length, 50);
  results.forEach((texts, i) => {
    assert.equal(texts.length, 6);
    assert.match(texts[5], new RegExp(`arg1='s${i}'`));
  });
  const ids = new Set(clients.map((c) => c.transport.sessionId));
  assert.equal(ids.size, 50);
  await Promise.all(clients.map(v1Close));
});
