/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile>`: where a V8 CPU profile's time went: the
 * share of samples by self time per function (top 25) and by group (garbage collection, ioredis, ws, the
 * relay's sources, node internals, idle), for docs/BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (const s of profile.samples) self.set(s, (self.get(s) ?? 0) + 1);
const total = profile.samples.length;

function group(n: Node): string {
  const { functionName: f, url } = n.callFrame;
  if (f === '(garbage collector)') return 'GC';
  if (f === '(idle)') return 'idle';
  if (f === '(program)') return 'program (native, unattributed)';
  if (url.includes('ioredis') || url.includes('redis-parser') || url.includes('denque')) return 'ioredis';
  if (url.includes('/ws/')) return 'ws';
  if (url.includes('packages/relay/src')) return 'relay sources';
  if (url.startsWith('node:') || url === '') return 'node internals and natives';
  return 'other';
}

const groups = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, count] of self) {
  const n = byId.get(id)!;
  const g = group(n);
  groups.set(g, (groups.get(g) ?? 0) + count);
  const where = n.callFrame.url.replace(/^.*\/(node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?)?/, '');
  const key = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + count);
}
const pct = (x: number) => `${((100 * x) / total).toFixed(1)}%`;
const busy = total - (groups.get('idle') ?? 0);
console.log(`${total} samples; busy ${pct(busy)}`);
for (const [g, c] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`  ${g.padEnd(32)} ${pct(c).padStart(6)} of samples, ${((100 * c) / busy).toFixed(1)}% of busy`);
console.log('top functions by self time:');
for (const [f, c] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(c).padStart(6)}  ${f}`);
