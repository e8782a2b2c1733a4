/**
 * The published build (tsup: ESM + CJS) as users load it: a password room (so the lazily loaded
 * libsodium-wrappers-sumo is exercised) with a moderator and a joiner, once per format. Runs after
 * `pnpm build` (part of `pnpm test`); skipped otherwise.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = new URL('../dist/', import.meta.url);
const built = existsSync(new URL('index.js', dist)) && existsSync(new URL('index.cjs', dist));

type Rooms = typeof import('../src/index.js');
type Core = typeof import('@sealsig/core');

async function passwordRoom(rooms: Rooms, core: Core) {
  const net = core.createMemoryNetwork();
  const mod = await rooms.createRoom({ transport: net.connect(), password: 'pw', moderation: { admit: 'auto' } });
  const wrong = await rooms.joinRoom({ transport: net.connect(), invite: mod.invite, password: 'nope' }).catch((e: { code: string }) => e.code);
  const bob = await rooms.joinRoom({ transport: net.connect(), invite: mod.invite, password: 'pw' });
  while (bob.members.length === 0) await new Promise((r) => setTimeout(r, 1));
  const got = new Promise<unknown>((r) => mod.on('message', (m) => r(m.value)));
  await bob.send(bob.members[0]!.id, 'hi');
  const value = await got;
  await bob.close();
  await mod.close();
  return { wrong, value };
}

describe.runIf(built)('dist build', () => {
  it('ESM entry works', async () => {
    const rooms = await import(new URL('index.js', dist).href);
    const core = await import('@sealsig/core');
    expect(await passwordRoom(rooms, core)).toEqual({ wrong: 'E_WRONG_PASSWORD', value: 'hi' });
  });
  it('CJS entry works (plain node: the test worker resolves workspace packages to their sources)', () => {
    const script = `
      const rooms = require('./dist/index.cjs');
      const core = require('@sealsig/core');
      (${passwordRoom.toString()})(rooms, core)
        .then((r) => { console.log(JSON.stringify(r)); process.exit(0); })
        .catch((e) => { console.error(e); process.exit(1); });`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: fileURLToPath(new URL('..', dist)), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ wrong: 'E_WRONG_PASSWORD', value: 'hi' });
  });
});
