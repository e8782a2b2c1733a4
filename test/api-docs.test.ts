// Issue 12: every exported symbol of every public package (packages/* without "private": true) carries a
// doc comment, and so do the public members of its classes and interfaces. TypeDoc converts the same
// program that `pnpm run docs` renders (typedoc.json, tsconfig.docs.json) and validates it with
// `notDocumented`; the test collects the validation warnings and fails with the list of undocumented names.
// It renders no HTML, so it takes about 10 to 20 s.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Application, LogLevel, TSConfigReader, TypeDocReader } from 'typedoc';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function publicPackages(): { dir: string; name: string }[] {
  return readdirSync(`${root}/packages`, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ dir: d.name, json: JSON.parse(readFileSync(`${root}/packages/${d.name}/package.json`, 'utf8')) }))
    .filter((p) => p.json.private !== true)
    .map((p) => ({ dir: p.dir, name: p.json.name as string }));
}

describe('API reference (typedoc.json)', () => {
  const packages = publicPackages();
  const config = JSON.parse(readFileSync(`${root}/typedoc.json`, 'utf8'));

  it('lists every public package, by its src/index.ts', () => {
    expect([...config.entryPoints].sort()).toEqual(packages.map((p) => `packages/${p.dir}/src/index.ts`).sort());
    expect([...config.packagesRequiringDocumentation].sort()).toEqual(packages.map((p) => p.name).sort());
    expect(readFileSync(`${root}/.gitignore`, 'utf8').split('\n')).toContain(`${config.out}/`);
  });

  it('documents every export and every public member', async () => {
    const warnings: string[] = [];
    const app = await Application.bootstrapWithPlugins(
      { options: `${root}/typedoc.json`, logLevel: LogLevel.Warn, validation: { notDocumented: true, notExported: true, invalidLink: true } },
      [new TypeDocReader(), new TSConfigReader()],
    );
    // Keep the warnings (validation and conversion alike) instead of printing them.
    app.logger.log = (message: string, level: LogLevel) => {
      // eslint-disable-next-line no-control-regex
      if (level >= LogLevel.Warn) warnings.push(message.replace(/\x1b\[[0-9;]*m/g, '').replace(/^\[\w+\]\s*/, ''));
    };
    const project = await app.convert();
    expect(project, 'typedoc failed to convert the packages').toBeDefined();
    app.validate(project!);
    const undocumented = warnings
      .map((w) => /^(.*) \((\w+)\), defined in (\S+), does not have any documentation$/.exec(w))
      .filter((m) => m !== null)
      .map((m) => `${m[3]}: ${m[1]} (${m[2]})`);
    if (undocumented.length > 0) expect.fail(`${undocumented.length} undocumented:\n  ${undocumented.join('\n  ')}`);
    expect(warnings).toEqual([]);
  });
});
