/**
 * Two real Chromium pages of one origin join one session over BroadcastChannel and exchange an offer
 * and an answer. The pages come from a tiny HTTP server on 127.0.0.1 (port 0) serving an esbuild bundle
 * of browser/entry.ts. CI installs chromium (.ci/run); elsewhere the test is skipped without it.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSessionId } from '@sealsig/core';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('BroadcastChannel between two Chromium pages', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
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
    expect(Object.keys(bundle.metafile!.inputs).filter((i) => i.startsWith('node:'))).toEqual([]);
    const script = bundle.outputFiles[0]!.text;
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else if (path === '/') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>sealsig</title><script src="/app.js"></script>');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('page A and page B exchange an offer and an answer', async () => {
    const sessionId = createSessionId();
    const context = await browser.newContext();
    try {
      const errors: string[] = [];
      const open = async (role: string) => {
        const page = await context.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${origin}/?role=${role}#${sessionId}`);
        return page;
      };
      // The answerer's page first: it is listening when the offerer's hello goes out.
      const b = await open('answerer');
      const a = await open('offerer');
      const result = (page: typeof a) => page.evaluate(() => (globalThis as unknown as { sealsigResult: Promise<unknown> }).sealsigResult);
      const [ra, rb] = (await Promise.all([result(a), result(b)])) as { me: string; peer: string; got: { type: string; sdp: string }; errors: string[] }[];
      expect(ra!.peer).toBe(rb!.me);
      expect(rb!.peer).toBe(ra!.me);
      expect(rb!.got).toEqual({ type: 'offer', sdp: `v=0 offer from ${ra!.me}` });
      expect(ra!.got).toEqual({ type: 'answer', sdp: `v=0 answer from ${rb!.me}` });
      expect([...ra!.errors, ...rb!.errors]).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
