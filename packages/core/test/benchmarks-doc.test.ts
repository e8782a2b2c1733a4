/**
 * docs/BENCHMARKS.md's and docs/SCALING.md's tables are generated from bench/results/latest.json by bench/tables.ts (`pnpm
 * bench:tables`): this fails when someone edits one without the other. It lives in core's project because
 * the repository's vitest projects are the packages' test folders (vitest.workspace.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);

interface Tables {
  renderDocument(doc: string, rows: unknown[], tables?: Record<string, unknown>): string;
  TABLES: Record<string, unknown>;
}

describe('docs/BENCHMARKS.md', () => {
  it('holds exactly the tables bench/tables.ts generates from bench/results/latest.json', async () => {
    const tables = (await import(/* @vite-ignore */ new URL('bench/tables.ts', root).href)) as Tables;
    const doc = readFileSync(new URL('docs/BENCHMARKS.md', root), 'utf8');
    const rows = JSON.parse(readFileSync(new URL('bench/results/latest.json', root), 'utf8')) as unknown[];
    expect(doc, 'run `pnpm bench:tables` after changing latest.json or the tables').toBe(tables.renderDocument(doc, rows));
  });

  it('has every table bench/tables.ts can generate', async () => {
    const tables = (await import(/* @vite-ignore */ new URL('bench/tables.ts', root).href)) as Tables;
    const doc = readFileSync(new URL('docs/BENCHMARKS.md', root), 'utf8');
    for (const name of Object.keys(tables.TABLES)) {
      expect(doc).toContain(`<!-- table:${name} -->`);
      expect(doc).toContain(`<!-- /table:${name} -->`);
    }
  });
});

describe('docs/SCALING.md', () => {
  it('holds exactly the tables bench/scaling-model.ts generates from bench/results/latest.json', async () => {
    const tables = (await import(/* @vite-ignore */ new URL('bench/tables.ts', root).href)) as Tables;
    const model = (await import(/* @vite-ignore */ new URL('bench/scaling-model.ts', root).href)) as { SCALING_TABLES: Record<string, unknown> };
    const doc = readFileSync(new URL('docs/SCALING.md', root), 'utf8');
    const rows = JSON.parse(readFileSync(new URL('bench/results/latest.json', root), 'utf8')) as unknown[];
    expect(doc, 'run `pnpm bench:tables` after changing latest.json or the model').toBe(tables.renderDocument(doc, rows, model.SCALING_TABLES));
    for (const name of Object.keys(model.SCALING_TABLES)) expect(doc).toContain(`<!-- table:${name} -->`);
  });
});
