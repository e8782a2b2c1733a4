// The build every package shares: ESM + CJS + d.ts from its src/index.ts (and any extra entries).
import { defineConfig } from 'tsup';

export function packageBuild(entry: string[] = ['src/index.ts']) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    tsconfig: 'tsconfig.build.json',
  });
}
