/**
 * The published build (tsup: ESM + CJS) works in Node as users load it: import, require, a session between
 * an ESM member and a CJS member on one in-memory network would mix two libsodium instances, so each format
 * runs its own pair. Runs after `pnpm build` (part of `pnpm test`); skipped with a clear message otherwise.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const dist = new URL('../dist/', import.meta.url);
const built = existsSync(new URL('index.js', dist)) && existsSync(new URL('index.cjs', dist));

async function roundTrip(lib: typeof import('../src/index.js')) {
  const net = lib.createMemoryNetwork();
  const sessionId = lib.createSessionId();
  const a = await lib.joinSession({ sessionId, transport: net.connect() });
  const b = await lib.joinSession({ sessionId, transport: net.connect() });
  const got = new Promise<unknown>((r) => b.on('message', (m) => r(m.value)));
  while (a.peers.length === 0) await new Promise((r) => setTimeout(r, 1));
  await a.send(b.id, { sdp: 'v=0' });
  const value = await got;
  await Promise.all([a.close(), b.close()]);
  return value;
}

describe.runIf(built)('dist build', () => {
  it('ESM entry works', async () => {
    const lib = await import(new URL('index.js', dist).href);
    expect(await roundTrip(lib)).toEqual({ sdp: 'v=0' });
  });
  it('CJS entry works', async () => {
    const lib = createRequire(import.meta.url)('../dist/index.cjs');
    expect(await roundTrip(lib)).toEqual({ sdp: 'v=0' });
    expect(new lib.SealsigError('E_REPLAY', 'x').code).toBe('E_REPLAY');
  });
});
