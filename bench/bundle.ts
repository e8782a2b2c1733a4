/**
 * `pnpm bench:bundle`: what @sealsig/rooms adds to a browser bundle (docs/BENCHMARKS.md "Bundle size", issue 10
 * "A small bundle"). Bundles with esbuild (browser platform, ESM, minified, code splitting) from the packages'
 * sources (the `source` export condition, so no build is needed; tsup's dist gives the same code):
 *
 *   1. core + websocket         `export * from '@sealsig/core'; export * from '@sealsig/transport-websocket'`
 *   2. core + websocket + rooms  the same plus `export * from '@sealsig/rooms'`
 *
 * `export *` keeps each package's whole public API, so nothing is tree-shaken away: an upper bound for a page
 * that uses these packages. With splitting, what a page loads first is the entry file plus every chunk it
 * imports statically; chunks reached only through a dynamic import() (rooms' CPace part: ristretto255 from
 * @noble/curves) load when a password room first runs CPace. Each output file is gzipped on its own (level 9,
 * as a server would send it); sizes are in bytes, KB = 1000 bytes.
 *
 * Targets (issue 10): rooms adds <= 25 KB gzip to the first load and <= 50 KB gzip in all (first load plus
 * the lazy part). The script also checks that the first load holds no ristretto255 code and that the lazy part
 * does. Exits 1 when a target or a check fails.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const FIRST_LOAD_TARGET = 25_000;
const TOTAL_TARGET = 50_000;
/** A string only @noble/curves' ristretto255 code contains (an error message of its decoder). */
const RISTRETTO_MARKER = 'invalid ristretto255 encoding';

interface Part {
  raw: number;
  gzip: number;
  files: number;
  text: string;
  /** Per output file: its gzip size and the source it holds most bytes of. */
  detail: string[];
}

interface Measure {
  name: string;
  firstLoad: Part;
  lazy: Part;
}

/**
 * The workspace packages by name, at their sources: what their `source` export condition points to. (The
 * monorepo root does not depend on them, so a bare import from here would not resolve; their own
 * dependencies resolve from each package's node_modules as usual.)
 */
const workspace: Plugin = {
  name: 'sealsig-workspace',
  setup(b) {
    b.onResolve({ filter: /^@sealsig\/[a-z-]+$/ }, (args) => ({ path: join(root, 'packages', args.path.slice('@sealsig/'.length), 'src', 'index.ts') }));
  },
};

const empty = (): Part => ({ raw: 0, gzip: 0, files: 0, text: '', detail: [] });

/** The input that contributes most bytes to an output file, shortened to package/path. */
function mainInput(meta: Metafile, key: string): string {
  const inputs = Object.entries(meta.outputs[key]!.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
  const top = inputs[0]?.[0] ?? '?';
  return top.replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^packages\//, '@sealsig/');
}

function add(part: Part, contents: Uint8Array, label: string): void {
  const gz = gzipSync(contents, { level: 9 }).length;
  part.raw += contents.length;
  part.gzip += gz;
  part.files += 1;
  part.text += Buffer.from(contents).toString('utf8');
  part.detail.push(`${label}: ${contents.length.toLocaleString('en-US')} raw, ${gz.toLocaleString('en-US')} gzip`);
}

/** Output files reachable from the entry through static imports only. */
function staticClosure(meta: Metafile, entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of meta.outputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.external) todo.push(imp.path);
    }
  }
  return seen;
}

async function measure(name: string, source: string): Promise<Measure> {
  const result = await build({
    stdin: { contents: source, resolveDir: root, sourcefile: 'entry.js', loader: 'js' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    conditions: ['source'],
    absWorkingDir: root,
    outdir: join(root, 'bench', '.bundle-out'), // nothing is written (write: false)
    entryNames: 'entry',
    write: false,
    metafile: true,
    logLevel: 'error',
    legalComments: 'none',
    plugins: [workspace],
  });
  const meta = result.metafile!;
  const entry = Object.keys(meta.outputs).find((f) => meta.outputs[f]!.entryPoint !== undefined);
  if (entry === undefined) throw new Error(`${name}: no entry chunk`);
  const first = staticClosure(meta, entry);
  const m: Measure = { name, firstLoad: empty(), lazy: empty() };
  for (const file of result.outputFiles) {
    const key = relative(root, file.path).split(sep).join('/');
    if (meta.outputs[key] === undefined) throw new Error(`${name}: ${key} is not in the metafile`);
    add(first.has(key) ? m.firstLoad : m.lazy, file.contents, `${key.split('/').pop()} (mostly ${mainInput(meta, key)})`);
  }
  return m;
}

const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`;
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${kb(Math.abs(n))}`;

const base = await measure('core + websocket', `export * from '@sealsig/core'; export * from '@sealsig/transport-websocket';`);
const rooms = await measure(
  'core + websocket + rooms',
  `export * from '@sealsig/core'; export * from '@sealsig/transport-websocket'; export * from '@sealsig/rooms';`,
);

const lazyDelta = rooms.lazy.gzip - base.lazy.gzip;
const firstDelta = rooms.firstLoad.gzip - (base.firstLoad.gzip + base.lazy.gzip);
const totalDelta = rooms.firstLoad.gzip + rooms.lazy.gzip - (base.firstLoad.gzip + base.lazy.gzip);
const firstDeltaRaw = rooms.firstLoad.raw - (base.firstLoad.raw + base.lazy.raw);
const totalDeltaRaw = rooms.firstLoad.raw + rooms.lazy.raw - (base.firstLoad.raw + base.lazy.raw);

const checks = [
  { what: `rooms adds <= ${kb(FIRST_LOAD_TARGET)} gzip to the first load`, value: signed(firstDelta), ok: firstDelta <= FIRST_LOAD_TARGET },
  { what: `rooms adds <= ${kb(TOTAL_TARGET)} gzip in all (first load + lazy CPace part)`, value: signed(totalDelta), ok: totalDelta <= TOTAL_TARGET },
  { what: 'no ristretto255 code in the first load', value: rooms.firstLoad.text.includes(RISTRETTO_MARKER) ? 'present' : 'absent', ok: !rooms.firstLoad.text.includes(RISTRETTO_MARKER) },
  { what: 'ristretto255 code in the lazy part', value: rooms.lazy.text.includes(RISTRETTO_MARKER) ? 'present' : 'absent', ok: rooms.lazy.text.includes(RISTRETTO_MARKER) },
  { what: 'no libsodium-wrappers-sumo in any output', value: /libsodium-sumo|wrappers-sumo/.test(rooms.firstLoad.text + rooms.lazy.text) ? 'present' : 'absent', ok: !/libsodium-sumo|wrappers-sumo/.test(rooms.firstLoad.text + rooms.lazy.text) },
];

const row = (m: Measure, part: 'firstLoad' | 'lazy'): string =>
  `| ${m.name} | ${part === 'firstLoad' ? 'first load' : 'lazy (dynamic import)'} | ${m[part].files} | ${m[part].raw.toLocaleString('en-US')} | ${m[part].gzip.toLocaleString('en-US')} |`;

const lines = [
  `esbuild ${(await import('esbuild')).version}, platform browser, ESM, minified, splitting; gzip -9 per file; sources via the "source" condition.`,
  '',
  '| bundle | part | files | raw bytes | gzip bytes |',
  '| --- | --- | ---: | ---: | ---: |',
  row(base, 'firstLoad'),
  ...(base.lazy.files > 0 ? [row(base, 'lazy')] : []),
  row(rooms, 'firstLoad'),
  row(rooms, 'lazy'),
  '',
  `rooms adds to the first load: ${signed(firstDeltaRaw)} raw, ${signed(firstDelta)} gzip; in all: ${signed(totalDeltaRaw)} raw, ${signed(totalDelta)} gzip of which the lazily loaded CPace part is ${signed(lazyDelta)} gzip.`,
  '',
  'Output files:',
  ...[base, rooms].flatMap((m) => [...m.firstLoad.detail.map((d) => `- ${m.name}, first load: ${d}`), ...m.lazy.detail.map((d) => `- ${m.name}, lazy: ${d}`)]),
  '',
  '| check | measured | met |',
  '| --- | --- | --- |',
  ...checks.map((c) => `| ${c.what} | ${c.value} | ${c.ok ? 'yes' : 'NO'} |`),
];
console.log(lines.join('\n'));
if (!checks.every((c) => c.ok)) process.exitCode = 1;
