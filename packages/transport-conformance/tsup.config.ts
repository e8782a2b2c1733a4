import { packageBuild } from '../../tsup.package.ts';

// ESM only: the suite runs under vitest, which is ESM-only (require() gets esm-only.cjs, a clear error).
export default packageBuild(['src/index.ts'], { format: ['esm'] });
