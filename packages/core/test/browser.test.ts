/**
 * @sealsig/core in a real browser: the sources bundled by esbuild for the browser platform (no Node
 * built-ins may be pulled in) and run in Debian's Chromium through playwright-core. CI installs chromium
 * (.ci/run), so there the test always runs; elsewhere it is skipped when /usr/bin/chromium is missing.
 */
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('in Chromium', () => {
  it('joins, signals and broadcasts between two sessions in one page', async () => {
    const bundle = await build({
      entryPoints: [new URL('./browser/entry.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      conditions: ['source'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(bundle.metafile!.inputs);
    expect(inputs.filter((i) => i.startsWith('node:'))).toEqual([]);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.setContent('<!doctype html><title>sealsig</title>');
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const result = await page.evaluate(() => (globalThis as unknown as { sealsigResult: Promise<unknown> }).sealsigResult);
      expect(result).toMatchObject({ offer: { type: 'offer', sdp: 'v=0\r\n' }, chat: { text: 'hi from a browser' } });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
