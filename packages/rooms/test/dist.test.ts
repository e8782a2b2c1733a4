/**
 * The published build (tsup: ESM + CJS) as users load it: a password room (so the lazily loaded ristretto255
 * of @noble/curves is exercised: external in the ESM build, bundled into the CJS build since @noble/curves 2
 * ships ES modules only) with a moderator and a joiner, once per format; the ESM build loads @noble/curves only
 * when the first password check runs; the CJS build reaches the bundled copy only through that dynamic import;
 * and the declarations type-check for CommonJS and ESM consumers under `tsc --strict` without skipLibCheck.
 * Runs after `pnpm build` (part of `pnpm test`); skipped otherwise.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

  it('ESM entry: @noble/curves and the ristretto chunk load only when a password check runs (plain node, load hook)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rooms-lazy-'));
    try {
      const log = join(dir, 'loaded.txt');
      writeFileSync(log, '');
      const hooks = join(dir, 'hooks.mjs');
      writeFileSync(
        hooks,
        `import { appendFileSync } from 'node:fs';
        let log;
        export function initialize(data) { log = data.log; }
        export async function load(url, context, next) { appendFileSync(log, url + '\\n'); return next(url, context); }`,
      );
      const script = `
        import { register } from 'node:module';
        import { readFileSync } from 'node:fs';
        register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(log)} } });
        const lazy = () => readFileSync(${JSON.stringify(log)}, 'utf8').split('\\n').filter((u) => /@noble|ristretto-/.test(u));
        const rooms = await import(${JSON.stringify(new URL('index.js', dist).href)});
        const core = await import('@sealsig/core');
        await core.ready();
        const before = lazy();
        const result = await (${passwordRoom.toString()})(rooms, core);
        console.log(JSON.stringify({ before, after: lazy(), result }));
        process.exit(0);`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', dist)), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
      expect(run.stderr).toBe('');
      const out = JSON.parse(run.stdout) as { before: string[]; after: string[]; result: unknown };
      expect(out.result).toEqual({ wrong: 'E_WRONG_PASSWORD', value: 'hi' });
      expect(out.before).toEqual([]);
      expect(out.after.some((u) => u.includes('/@noble/curves/'))).toBe(true);
      expect(out.after.some((u) => /\/dist\/ristretto-[^/]*\.js$/.test(u))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CJS entry: @noble/curves is bundled, and its module bodies run only from the lazy CPace loader', () => {
    const cjs = readFileSync(new URL('index.cjs', dist), 'utf8');
    expect(cjs).not.toMatch(/require\(["']@noble\//); // bundled, not required (it is ESM-only)
    expect(cjs).not.toMatch(/libsodium-wrappers-sumo/);
    // esbuild wraps a dynamically imported module and everything it alone imports in lazy __esm initialisers:
    // the ristretto module's initialiser must be called from exactly one place, the dynamic import.
    const calls = [...cjs.matchAll(/init_ristretto\(\)/g)].length;
    expect(calls).toBe(1);
    expect(cjs).toMatch(/Promise\.resolve\(\)\.then\(\(\) => \(init_ristretto\(\), ristretto_exports\)\)/);
    const ed = [...cjs.matchAll(/init_ed25519\(\);/g)].length;
    expect(ed).toBe(1); // called only inside init_ristretto
  });

  it('the declarations type-check for consumers: tsc --strict, node10 and nodenext, CJS and ESM, no skipLibCheck', () => {
    const pkg = fileURLToPath(new URL('..', dist));
    const core = fileURLToPath(new URL('../../core/', dist));
    if (!existsSync(join(core, 'dist', 'index.d.cts'))) return; // core not built
    const dir = mkdtempSync(join(tmpdir(), 'rooms-dts-'));
    try {
      mkdirSync(join(dir, 'node_modules', '@sealsig'), { recursive: true });
      symlinkSync(pkg, join(dir, 'node_modules', '@sealsig', 'rooms'), 'dir');
      symlinkSync(core, join(dir, 'node_modules', '@sealsig', 'core'), 'dir');
      writeFileSync(join(dir, 'package.json'), '{}');
      const cjsSource = `import rooms = require('@sealsig/rooms');
        export const ready: () => Promise<void> = rooms.cpaceReady;
        export async function join(t: Parameters<typeof rooms.joinRoom>[0]['transport'], invite: string): Promise<rooms.Room> {
          return rooms.joinRoom({ transport: t, invite, password: 'pw' });
        }\n`;
      writeFileSync(join(dir, 'node10.ts'), cjsSource);
      writeFileSync(join(dir, 'nodenext.cts'), cjsSource);
      writeFileSync(
        join(dir, 'nodenext.mts'),
        `import { cpaceReady, joinRoom, type Room } from '@sealsig/rooms';
        export const ready: () => Promise<void> = cpaceReady;
        export type R = Room;
        export const j = joinRoom;\n`,
      );
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      const strict = ['--strict', '--noEmit', '--target', 'es2022'];
      const runs = [
        [...strict, '--module', 'commonjs', '--moduleResolution', 'node10', 'node10.ts'],
        [...strict, '--module', 'nodenext', '--moduleResolution', 'nodenext', 'nodenext.cts'],
        [...strict, '--module', 'nodenext', '--moduleResolution', 'nodenext', 'nodenext.mts'],
      ];
      for (const args of runs) {
        const run = spawnSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
        expect({ args: args.at(-1), out: run.stdout + run.stderr }).toEqual({ args: args.at(-1), out: '' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
