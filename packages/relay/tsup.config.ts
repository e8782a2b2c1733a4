import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the library (ESM + CJS); cli: the `sealsig-relay` command (bin/sealsig-relay.js imports dist/cli.js).
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
});
