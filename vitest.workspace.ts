// The vitest projects of the monorepo. Vitest 4 does not read this file by itself:
// vitest.config.ts imports this list as `test.projects`.
const conditions = ['source', 'module', 'node', 'development|production'];

export const projects = [
  {
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      name: 'core',
      root: './packages/core',
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 60_000,
    },
  },
];

export default projects;
