// The vitest projects of the monorepo: one per package that has a test/ folder, and 'repo' (test/). Vitest 4 does not read
// this file by itself: vitest.config.ts imports this list as `test.projects`.
// A package may add test/global-setup.ts (started once for its project, e.g. to spawn a broker).
import { existsSync, readdirSync } from 'node:fs';

const conditions = ['source', 'module', 'node', 'development|production'];
const root = new URL('./packages/', import.meta.url);

const packageProjects = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/test`, root)))
  .map((d) => d.name)
  .sort()
  .map((name) => ({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      name,
      root: `./packages/${name}`,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      ...(existsSync(new URL(`${name}/test/global-setup.ts`, root)) ? { globalSetup: ['test/global-setup.ts'] } : {}),
    },
  }));

// The repository-level checks in test/ (test/api-docs.test.ts: every export of every public package is
// documented, issue 12), as project 'repo'.
const repo = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: { name: 'repo', root: '.', include: ['test/**/*.test.ts'], environment: 'node', testTimeout: 120_000, hookTimeout: 60_000 },
};

// packaging/: the packages as the registry serves them (pnpm pack, an offline install outside the workspace,
// Node and tsc consumers). Needs the build: `pnpm test` builds before vitest runs.
const packaging = {
  test: {
    name: 'packaging',
    root: './packaging',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
};

export const projects = [...packageProjects, repo, packaging];

export default projects;
