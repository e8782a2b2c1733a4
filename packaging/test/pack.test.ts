/**
 * The packages as the registry would serve them (issue 12). `pnpm pack` every public package, install all the
 * tarballs together into a scratch project outside the workspace, offline, then check what a user gets:
 *
 * - each tarball holds only what it should (dist, src, README, LICENSE, package.json, and the few extra files a
 *   package ships), and its manifest has the registry metadata, no `workspace:` specifier, and the exports of
 *   the workspace manifest without the workspace-only `source` condition (publishConfig.exports);
 * - every link in every shipped Markdown file resolves: relative links to a file in the same tarball (never
 *   `../`), absolute links into this repository to a file of the workspace, anchors to a heading;
 * - Node imports each package as ESM and requires it as CommonJS with the same exports (transport-conformance
 *   is ESM-only: require() throws a clear error), the core README's in-memory example runs, the relay's bin runs;
 * - a consumer type-checks under `tsc --strict` without skipLibCheck, for moduleResolution bundler, node16 and
 *   nodenext (ESM .mts and CommonJS .cts) and node10; the last two without DOM types (a Node project); with
 *   none of transport-pubsub's optional peers installed.
 *
 * Offline: third-party dependencies are not fetched. The scratch project's pnpm overrides link each one to the
 * copy this workspace installed for the package that declares it (so the linked version satisfies the declared
 * range); only the tarballs go through pnpm's fetcher, into a temporary store and an empty metadata cache, as on a
 * bare CI machine. Runs after `pnpm build` (part of `pnpm test`); skipped with a message otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO = 'https://github.com/sealsig/sealsig';
const PACKAGES = join(ROOT, 'packages');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
  files?: string[];
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  keywords?: string[];
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

const publicPackages = readdirSync(PACKAGES)
  .filter((d) => existsSync(join(PACKAGES, d, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson<Manifest>(join(PACKAGES, dir, 'package.json')) }))
  .filter((p) => p.manifest.private !== true)
  .sort((a, b) => a.dir.localeCompare(b.dir));

const ESM_ONLY = new Set(['@sealsig/transport-conformance']);
const ESM_ONLY_ERROR = '@sealsig/transport-conformance is ESM-only (it runs under vitest): use import';

/** Top-level entries a tarball may hold beyond package.json, README.md, LICENSE, dist/ and src/. */
const EXTRA_FILES: Record<string, RegExp[]> = {
  '@sealsig/relay': [/^bin\/sealsig-relay\.js$/, /^PROTOCOL-RELAY\.md$/],
  '@sealsig/transport-firebase': [/^database\.rules\.json$/],
  '@sealsig/transport-conformance': [/^esm-only\.cjs$/],
};
/** Files a tarball must hold beyond package.json, README.md, LICENSE and its entry points. */
const REQUIRED_FILES: Record<string, string[]> = {
  '@sealsig/relay': ['PROTOCOL-RELAY.md', 'bin/sealsig-relay.js'],
  '@sealsig/transport-firebase': ['database.rules.json'],
};

const built = publicPackages.every((p) => existsSync(join(PACKAGES, p.dir, 'dist', 'index.js')));
if (!built) console.warn('packaging test skipped: run `pnpm build` first (`pnpm test` does)');

/** Runs a command without a shell; resolves with its output, rejects with it on failure or timeout. */
function run(cmd: string, args: string[], cwd: string, timeoutMs = 90_000): Promise<string> {
  // pnpm test exports npm_config_* variables: the scratch project's .npmrc must be the only configuration.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|NODE_OPTIONS$|VITEST)/i.test(k)));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${code ?? signal}:\n${out}`));
    });
  });
}

/** GitHub's heading anchors of a Markdown file (lowercase, punctuation dropped, spaces to '-', -1 for repeats). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

/** Link targets of a Markdown file: inline links and images, reference definitions, HTML href/src; not in code. */
function linksOf(markdown: string): string[] {
  const text = markdown.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1.*$/gm, '').replace(/`[^`\n]*`/g, (s) => ' '.repeat(s.length));
  const links: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push(m[1]!);
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/gm)) links.push(m[1]!);
  for (const m of text.matchAll(/\b(?:href|src)="([^"]+)"/g)) links.push(m[1]!);
  return links;
}

interface Packed {
  dir: string;
  manifest: Manifest; // the packed package.json (workspace: specifiers rewritten by pnpm pack)
  tarball: string;
  files: string[]; // paths inside the tarball, without the leading package/
  extracted: string;
}

/** An exports map without its `source` conditions. */
function withoutSource(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'source').map(([k, x]) => [k, withoutSource(x)]));
}

describe.runIf(built)('packed packages', () => {
  let tmp = '';
  let app = '';
  const packed: Packed[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sealsig-packaging-'));
    const tarballs = join(tmp, 'tarballs');
    mkdirSync(tarballs);
    await Promise.all(publicPackages.map((p) => run('pnpm', ['pack', '--pack-destination', tarballs], join(PACKAGES, p.dir))));
    for (const p of publicPackages) {
      const name = readdirSync(tarballs).find((f) => f === `${p.manifest.name.replace('@', '').replace('/', '-')}-${p.manifest.version}.tgz`);
      if (name === undefined) throw new Error(`no tarball for ${p.manifest.name} in ${readdirSync(tarballs).join(', ')}`);
      const tarball = join(tarballs, name);
      const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
      if (list.status !== 0) throw new Error(list.stderr);
      const files = list.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort();
      const extracted = join(tmp, 'extracted', p.dir);
      mkdirSync(extracted, { recursive: true });
      const x = spawnSync('tar', ['-xzf', tarball, '-C', extracted, '--strip-components=1'], { encoding: 'utf8' });
      if (x.status !== 0) throw new Error(x.stderr);
      packed.push({ dir: p.dir, manifest: readJson<Manifest>(join(extracted, 'package.json')), tarball, files, extracted });
    }

    // The scratch project: every tarball, what a user installs next to them (non-optional peers; no optional
    // peer, so transport-pubsub must work, types included, without mqtt, ioredis, nats or pubnub), typescript
    // and @types/node for the consumer checks. Third-party packages are linked to the workspace's copies.
    app = join(tmp, 'app');
    mkdirSync(app);
    const local = (fromDir: string, dep: string): string | undefined => {
      for (const dir of [join(PACKAGES, fromDir, 'node_modules', dep), join(ROOT, 'node_modules', dep)]) if (existsSync(dir)) return realpathSync(dir);
      return undefined;
    };
    const dependencies: Record<string, string> = {};
    const overrides: Record<string, string> = {};
    for (const p of packed) overrides[p.manifest.name] = dependencies[p.manifest.name] = `file:${p.tarball}`;
    for (const p of packed) {
      const optional = p.manifest.peerDependenciesMeta ?? {};
      const peers = Object.keys(p.manifest.peerDependencies ?? {}).filter((d) => optional[d]?.optional !== true);
      for (const dep of [...Object.keys(p.manifest.dependencies ?? {}), ...peers]) {
        if (dep in overrides) continue;
        const dir = local(p.dir, dep);
        if (dir === undefined) throw new Error(`${p.manifest.name} needs ${dep}, which the workspace did not install for it`);
        overrides[dep] = `link:${dir}`;
        if (peers.includes(dep)) dependencies[dep] = overrides[dep];
      }
    }
    for (const dep of ['typescript', '@types/node']) dependencies[dep] = overrides[dep] ??= `link:${local('core', dep)}`;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sealsig-consumer', private: true, dependencies, pnpm: { overrides } }, null, 2));
    writeFileSync(
      join(app, '.npmrc'),
      [`store-dir=${join(tmp, 'store')}`, `cache-dir=${join(tmp, 'cache')}`, 'auto-install-peers=false', 'strict-peer-dependencies=false', 'ignore-scripts=true', ''].join('\n'),
    );
    await run('pnpm', ['install', '--offline', '--no-frozen-lockfile', '--reporter=append-only'], app);
  }, 120_000);

  afterAll(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('packs every public package', () => {
    expect(packed.map((p) => p.manifest.name)).toEqual(publicPackages.map((p) => p.manifest.name));
    expect(packed.length).toBeGreaterThan(0);
  });

  it('each tarball holds only what it should, and its entry points', () => {
    const problems: string[] = [];
    for (const { manifest: m, files } of packed) {
      const extra = EXTRA_FILES[m.name] ?? [];
      for (const f of files) {
        const ok =
          ['package.json', 'README.md', 'LICENSE'].includes(f) ||
          /^dist\/[^/]+\.(js|cjs|d\.ts|d\.cts|js\.map|cjs\.map)$/.test(f) ||
          (/^src\/.+\.ts$/.test(f) && !/\.test\.ts$/.test(f)) ||
          extra.some((re) => re.test(f));
        if (!ok || /(^|\/)(test|tests|fixtures|__tests__)\/|tsconfig|tsup\.config|vitest/.test(f)) problems.push(`${m.name}: unexpected ${f}`);
      }
      const entryPoints = new Set<string>(['package.json', 'README.md', 'LICENSE', ...(REQUIRED_FILES[m.name] ?? [])]);
      const collect = (v: unknown): void => {
        if (typeof v === 'string') {
          if (v.startsWith('./')) entryPoints.add(posix.normalize(v));
        } else if (v !== null && typeof v === 'object') Object.values(v).forEach(collect);
      };
      collect([m.main, m.types, m.exports, m.bin]);
      for (const f of entryPoints) if (!files.includes(f)) problems.push(`${m.name}: ${f} is named (entry point or required) but not packed`);
      if (!ESM_ONLY.has(m.name) && !files.includes('dist/index.cjs')) problems.push(`${m.name}: no CommonJS build`);
    }
    expect(problems).toEqual([]);
  });

  it('each packed manifest has the registry metadata and no workspace: specifier', () => {
    const problems: string[] = [];
    for (const { dir, manifest: m, extracted } of packed) {
      const raw = readFileSync(join(extracted, 'package.json'), 'utf8');
      if (raw.includes('workspace:')) problems.push(`${m.name}: workspace: specifier left in package.json`);
      if (m.license !== 'MIT') problems.push(`${m.name}: license`);
      if (m.repository?.url !== `git+${REPO}.git` || m.repository.directory !== `packages/${dir}`) problems.push(`${m.name}: repository ${JSON.stringify(m.repository)}`);
      if (m.homepage !== `${REPO}/tree/main/packages/${dir}#readme`) problems.push(`${m.name}: homepage ${m.homepage}`);
      if (m.bugs?.url !== `${REPO}/issues`) problems.push(`${m.name}: bugs ${JSON.stringify(m.bugs)}`);
      if (!Array.isArray(m.keywords) || m.keywords.length === 0) problems.push(`${m.name}: keywords`);
      if (m.engines?.node !== '>=20') problems.push(`${m.name}: engines ${JSON.stringify(m.engines)}`);
      // The `source` condition (workspace sources for tests, the demo and benchmarks) stays home: a consumer that
      // enables a condition of that name (a common monorepo convention) must still get dist/. The packed exports
      // are the workspace ones without it, so publishConfig.exports cannot drift from exports.
      const workspace = publicPackages.find((p) => p.dir === dir)!.manifest;
      if (JSON.stringify(m.exports) !== JSON.stringify(withoutSource(workspace.exports))) problems.push(`${m.name}: packed exports ${JSON.stringify(m.exports)}`);
      if (raw.includes('"source"')) problems.push(`${m.name}: a "source" condition is published`);
    }
    expect(problems).toEqual([]);
  });

  it('every link in every shipped Markdown file resolves (no ../, no dead relative link, no dead anchor)', () => {
    const problems: string[] = [];
    const repoPrefix = new RegExp(`^${REPO.replace(/[.]/g, '\\.')}/(?:blob|tree)/main/([^#?]*)(?:#(.*))?$`);
    const anchorProblem = (file: string, anchor: string | undefined): string | undefined => {
      if (anchor === undefined || anchor === '' || !file.endsWith('.md')) return undefined;
      return anchorsOf(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor)) ? undefined : `no heading #${anchor} in ${file}`;
    };
    for (const { manifest: m, files, extracted } of packed) {
      if (!files.includes('README.md')) problems.push(`${m.name}: no README.md`);
      for (const md of files.filter((f) => f.endsWith('.md'))) {
        const where = `${m.name}/${md}`;
        for (const link of linksOf(readFileSync(join(extracted, md), 'utf8'))) {
          const repo = repoPrefix.exec(link);
          if (repo) {
            const target = join(ROOT, repo[1]!.replace(/\/$/, ''));
            if (!existsSync(target)) problems.push(`${where}: ${link}: no ${repo[1]} in the repository`);
            else {
              const p = statSync(target).isFile() ? anchorProblem(target, repo[2]) : undefined;
              if (p) problems.push(`${where}: ${link}: ${p}`);
            }
            continue;
          }
          if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto: outside this repository
          const [path = '', anchor] = link.split('#');
          if (path === '') {
            const p = anchorProblem(join(extracted, md), anchor);
            if (p) problems.push(`${where}: ${link}: ${p}`);
            continue;
          }
          if (path.startsWith('/') || path.startsWith('../')) {
            problems.push(`${where}: ${link}: leaves the package`);
            continue;
          }
          const target = posix.normalize(posix.join(posix.dirname(md), decodeURIComponent(path))).replace(/\/$/, '');
          if (target.startsWith('../')) problems.push(`${where}: ${link}: leaves the package`);
          else if (!files.includes(target) && !files.some((f) => f.startsWith(`${target}/`))) problems.push(`${where}: ${link}: ${target} is not in the tarball`);
          else if (files.includes(target)) {
            const p = anchorProblem(join(extracted, target), anchor);
            if (p) problems.push(`${where}: ${link}: ${p}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('Node imports every package as ESM and requires it as CommonJS, with the same exports; <name>/package.json resolves', async () => {
    const names = packed.map((p) => p.manifest.name);
    writeFileSync(
      join(app, 'load.mjs'),
      `import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const out = {};
      for (const name of ${JSON.stringify(names)}) {
        const esm = Object.keys(await import(name)).filter((k) => k !== 'default').sort();
        let cjs;
        try { cjs = Object.keys(require(name)).filter((k) => k !== 'default' && k !== '__esModule').sort(); }
        catch (e) { cjs = 'throws: ' + e.message; }
        const manifest = require(name + '/package.json').name === name;
        out[name] = { esm, cjs, manifest };
      }
      console.log(JSON.stringify(out));`,
    );
    const out = JSON.parse(await run(process.execPath, ['load.mjs'], app)) as Record<string, { esm: string[]; cjs: string[] | string; manifest: boolean }>;
    for (const name of names) {
      expect(out[name]!.esm.length, name).toBeGreaterThan(0);
      expect({ name, cjs: out[name]!.cjs }).toEqual({ name, cjs: ESM_ONLY.has(name) ? `throws: ${ESM_ONLY_ERROR}` : out[name]!.esm });
      expect(out[name]!.manifest, `${name}/package.json is exported`).toBe(true);
    }
  });

  it('the core README example runs from the installed package (ESM and CommonJS), and the relay bin runs', async () => {
    const example = `
      const net = createMemoryNetwork();
      const sessionId = createSessionId();
      const alice = await joinSession({ sessionId, transport: net.connect() });
      const bob = await joinSession({ sessionId, transport: net.connect() });
      const got = new Promise((r) => bob.on('message', (m) => r(m.value)));
      await net.settle();
      await alice.send(bob.id, { hello: 'bob' });
      console.log(JSON.stringify(await got));
      await Promise.all([alice.close(), bob.close()]);`;
    writeFileSync(join(app, 'example.mjs'), `import { createMemoryNetwork, createSessionId, joinSession } from '@sealsig/core';\n${example}`);
    writeFileSync(join(app, 'example.cjs'), `const { createMemoryNetwork, createSessionId, joinSession } = require('@sealsig/core');\n(async () => {${example}})();`);
    expect(JSON.parse(await run(process.execPath, ['example.mjs'], app))).toEqual({ hello: 'bob' });
    expect(JSON.parse(await run(process.execPath, ['example.cjs'], app))).toEqual({ hello: 'bob' });
    const bin = join(app, 'node_modules', '.bin', 'sealsig-relay');
    expect(existsSync(bin)).toBe(true);
    expect(await run(bin, ['--help'], app)).toMatch(/--help/);
  });

  it('a consumer type-checks under tsc --strict without skipLibCheck: bundler, node16, nodenext (ESM and CJS), node10', async () => {
    const pkgs = packed.map((p, i) => ({ name: p.manifest.name, id: `p${i}` }));
    const usage = (core: string) =>
      `export const net = ${core}.createMemoryNetwork();
       export const joined: Promise<${core}.Session> = ${core}.joinSession({ sessionId: ${core}.createSessionId(), transport: net.connect() });\n`;
    const esm =
      pkgs.map(({ name, id }) => `import * as ${id} from '${name}';\nexport const ${id}Exports: number = Object.keys(${id}).length;\n`).join('') +
      `import * as core from '@sealsig/core';\n${usage('core')}`;
    const cjs =
      pkgs
        .map(({ name, id }) =>
          ESM_ONLY.has(name)
            ? `import type * as ${id} from '${name}' with { 'resolution-mode': 'import' };\nexport type ${id}Exports = keyof typeof ${id};\n`
            : `import ${id} = require('${name}');\nexport const ${id}Exports: number = Object.keys(${id}).length;\n`,
        )
        .join('') + `import core = require('@sealsig/core');\n${usage('core')}`;
    // node10 has no exports maps, so no ESM-only package there: each package's root import, CommonJS style.
    const node10 =
      pkgs.map(({ name, id }) => `import ${id} = require('${name}');\nexport const ${id}Exports: number = Object.keys(${id}).length;\n`).join('') +
      `import core = require('@sealsig/core');\n${usage('core')}`;
    const dir = join(app, 'consumer');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bundler.ts'), esm);
    writeFileSync(join(dir, 'esm.mts'), esm);
    writeFileSync(join(dir, 'cjs.cts'), cjs);
    writeFileSync(join(dir, 'node10.ts'), node10);
    // One program per module setting (node16 and nodenext check the .mts and the .cts together): 4 tsc runs.
    const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
    const strict = ['--strict', '--noEmit', '--target', 'es2022', '--types', 'node'];
    const dom = ['--lib', 'es2022,dom'];
    const nodeOnly = ['--lib', 'es2022']; // a Node project without DOM types: the declarations must not need them
    const runs: [string, string[]][] = [
      ['bundler (ESM), DOM', [...dom, '--module', 'esnext', '--moduleResolution', 'bundler', 'bundler.ts']],
      ['node16 (ESM .mts and CJS .cts), DOM', [...dom, '--module', 'node16', '--moduleResolution', 'node16', 'esm.mts', 'cjs.cts']],
      ['nodenext (ESM .mts and CJS .cts), no DOM', [...nodeOnly, '--module', 'nodenext', '--moduleResolution', 'nodenext', 'esm.mts', 'cjs.cts']],
      ['node10 (CJS), no DOM', [...nodeOnly, '--module', 'commonjs', '--moduleResolution', 'node10', 'node10.ts']],
    ];
    const results: { label: string; out: string }[] = [];
    // One after the other: in parallel they are slower on a 2-CPU machine, and starve the other test files.
    for (const [label, args] of runs) {
      const out = await run(process.execPath, [tsc, ...strict, ...args], dir, 150_000).then(() => '', (e: Error) => e.message);
      results.push({ label, out });
    }
    expect(results).toEqual(runs.map(([label]) => ({ label, out: '' })));
  }, 240_000);
});
