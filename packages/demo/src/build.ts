/**
 * Bundles the demo page for browsers with esbuild (workspace sources via the `source` condition) and
 * copies index.html next to it: the directory the relay serves as staticDir. `ws` stays out of the
 * bundle: in a browser the transport uses the global WebSocket.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** Builds into `outDir` (default packages/demo/dist) and returns it. */
export async function buildDemo(outDir = here('../dist')): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [here('./demo.ts')],
    outfile: `${outDir}/demo.js`,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    external: ['ws'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  await copyFile(here('./index.html'), `${outDir}/index.html`);
  return outDir;
}
