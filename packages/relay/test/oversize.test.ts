/**
 * An over-limit WebSocket message (PROTOCOL-RELAY.md §4: larger than maxFrameBytes + 66) is refused from its
 * frame header: closed 1009 at once, and its payload is not read, so it costs the relay no memory. Measured in
 * a relay of its own process (--expose-gc): RSS after GC, before and after 20 messages of 64 MiB.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bigFrameHeader, closeCodeSent, rawUpgrade } from './raw-client.js';

const MiB = 1024 * 1024;
const sockets: Socket[] = [];
let child: ChildProcess | undefined;
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  child?.kill('SIGKILL');
  child = undefined;
});

interface Measure {
  rss: number;
  connections: number;
}

function ask(c: ChildProcess): Promise<Measure> {
  c.send('measure');
  return once(c, 'message').then(([m]) => m as Measure);
}

/** Sends one `bytes`-byte binary message (header, then 1 MiB chunks while the relay reads), then ends; the close code. */
async function oversized(port: number, bytes: number, chunk: Buffer): Promise<number> {
  const c = await rawUpgrade(port, sockets);
  let closed = false;
  void c.ended.then(() => (closed = true));
  c.socket.write(bigFrameHeader(bytes));
  for (let sent = 0; sent < bytes && !closed; sent += chunk.length) {
    if (!c.socket.write(chunk)) await Promise.race([once(c.socket, 'drain').catch(() => {}), c.ended]); // 'error' (a reset) ends it too
  }
  c.socket.end();
  const code = await closeCodeSent(c);
  await c.ended;
  return code;
}

describe('an over-limit message', () => {
  it('is closed 1009 without being read: RSS after 20 messages of 64 MiB within 8 MiB of its baseline', async () => {
    child = fork(fileURLToPath(new URL('./fixtures/relay-process.ts', import.meta.url)), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    const chunk = Buffer.alloc(MiB);
    // Warm up (code paths, ws's first buffers), then the baseline.
    expect(await oversized(port, MiB, chunk)).toBe(1009);
    const base = await ask(child);
    for (let round = 0; round < 5; round++) {
      const codes = await Promise.all(Array.from({ length: 4 }, () => oversized(port, 64 * MiB, chunk)));
      expect(codes).toEqual([1009, 1009, 1009, 1009]);
    }
    let after = await ask(child);
    while (after.connections > 0) after = await ask(child);
    const grown = (after.rss - base.rss) / MiB;
    console.log(`RSS ${(base.rss / MiB).toFixed(1)} MiB -> ${(after.rss / MiB).toFixed(1)} MiB after 20 x 64 MiB (+${grown.toFixed(1)} MiB)`);
    expect(grown).toBeLessThan(8);
  }, 60_000);
});
