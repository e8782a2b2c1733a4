// The shared package build (ESM + CJS + d.ts), with one difference for @noble/curves, which rooms loads lazily for
// CPace: version 2 ships ES modules only, so the CJS build bundles it (into the lazily evaluated part of
// index.cjs; `require()` of an ES module is not available on every Node 20), while the ESM build keeps it
// external (a dependency, deduplicated with the application's copy; a separate chunk, dist/ristretto-*.js,
// imports it on first use).
import { packageBuild } from '../../tsup.package.ts';

const base = packageBuild();
const NOBLE = /^@noble\//;

export default {
  ...base,
  noExternal: [NOBLE],
  esbuildOptions(options: { external?: string[] }, context: { format: string }) {
    // tsup's own plugin leaves noExternal packages to esbuild, whose `external` still applies: ESM only.
    if (context.format === 'esm') options.external = [...(options.external ?? []), '@noble/curves', '@noble/curves/*', '@noble/hashes', '@noble/hashes/*'];
  },
};
