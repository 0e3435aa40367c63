// What the Node tests share: a free port, and a server binary started on it
// that is ready once it logged its "ready" line.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts `bin` on `port` (a free one if not given) with `args`; resolves
 *  once it logged "ready". */
export async function startServer(bin, args, env = process.env, port = undefined) {
  port ??= await freePort();
  const proc = spawn(bin, ['--listen', `127.0.0.1:${port}`, ...args],
                     { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line: ${log}`)), 10000);
    proc.stderr.on('data', (d) => {
      log += d;
      if (log.includes('"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
  });
  return { proc, port, url: new URL(`http://127.0.0.1:${port}/mcp`), log: () => log };
}

export async function stopServer(s) {
  if (!s || s.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => s.proc.on('exit', resolve));
  s.proc.kill('SIGTERM');
  await exited;
}

/** Resolves with the first truthy value of `f()`, asked every 100 ms for
 *  at most `ms`. */
export async function until(f, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
