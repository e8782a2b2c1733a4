/**
 * Bundles the demo page for browsers with esbuild (workspace sources via the `source` condition) and
 * copies index.html next to it: the directory the relay serves as staticDir. `ws` stays out of the
 * bundle: in a browser the transport uses the global WebSocket.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** How browser pages are bundled here and by the browser tests' pages (test/fixtures/webrtc-harness.ts). */
export const BROWSER_BUNDLE = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  conditions: ['source'],
  external: ['ws'],
  logLevel: 'warning',
} satisfies BuildOptions;

/** Builds into `outDir` (default packages/demo/dist) and returns it. */
export async function buildDemo(outDir = here('../dist')): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [here('./demo.ts')],
    outfile: `${outDir}/demo.js`,
    ...BROWSER_BUNDLE,
    minify: true,
    sourcemap: true,
  });
  await copyFile(here('./index.html'), `${outDir}/index.html`);
  return outDir;
}
