// The build every package shares: ESM + CJS + d.ts from its src/index.ts (and any extra entries).
// A package may narrow the formats (transport-conformance is ESM-only).
import { defineConfig, type Options } from 'tsup';

export function packageBuild(entry: string[] = ['src/index.ts'], overrides: Pick<Options, 'format' | 'dts'> = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    tsconfig: 'tsconfig.build.json',
    ...overrides,
  });
}
