import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/index.js';
import { connect, roundTrip, startRelay, text, waitFor } from './helpers.js';

const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';

/** A raw GET (fetch would normalise `..` away before sending it). */
function get(base: string, path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-static-'));
  await mkdir(join(dir, 'www', 'js'), { recursive: true });
  await writeFile(join(dir, 'www', 'index.html'), '<!doctype html><title>demo</title>');
  await writeFile(join(dir, 'www', 'js', 'app.js'), 'export {};');
  await writeFile(join(dir, 'secret.txt'), 'outside the root');
  await symlink(join(dir, 'secret.txt'), join(dir, 'www', 'link.txt'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('HTTP endpoints', () => {
  let relay: Relay;
  let http: string;
  let url: string;
  beforeAll(async () => {
    ({ relay, http, url } = await startRelay({ staticDir: join(dir, 'www'), retention: false }));
  });
  afterAll(() => relay.close());

  it('/healthz answers 200 ok', async () => {
    expect(await get(http, '/healthz')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('/metrics exposes the counters in Prometheus text format', async () => {
    const a = await connect(url);
    const b = await connect(url);
    await a.subscribe(TOPIC);
    await b.subscribe(TOPIC);
    a.publish(TOPIC, text('12345'));
    await roundTrip(a, b, TOPIC);
    a.sendRaw(new Uint8Array([0xff]));
    await waitFor(() => a.errors().length === 1);
    const res = await get(http, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = res.body.split('\n');
    const value = (name: string) => Number(lines.find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
    expect(value('sealsig_relay_connections')).toBe(2);
    expect(value('sealsig_relay_topics')).toBe(1);
    expect(value('sealsig_relay_frames_in_total')).toBe(2);
    expect(value('sealsig_relay_frames_out_total')).toBe(2);
    expect(value('sealsig_relay_bytes_in_total')).toBeGreaterThan(2 * 24);
    // A DELIVER is its PUBLISH plus the 24-byte position (epoch, offset).
    expect(value('sealsig_relay_bytes_out_total')).toBe(value('sealsig_relay_bytes_in_total') + 24 * value('sealsig_relay_frames_out_total'));
    expect(value('sealsig_relay_drops_total{reason="malformed"}')).toBe(1);
    expect(res.body).toContain('# TYPE sealsig_relay_closes_total counter');
    for (const line of lines.filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^sealsig_relay_[a-z_]+(\{[a-z]+="[a-z0-9_]+"\})? \d+$/);
    }
    await Promise.all([a.close(), b.close()]);
  });

  it('serves static files with content types and refuses traversal', async () => {
    expect(await get(http, '/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(await get(http, '/js/app.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8', body: 'export {};' });
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/js/..%2f..%2fsecret.txt', '/link.txt', '/js', '/nope', '/%00', '/%zz']) {
      const res = await get(http, path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('outside the root');
    }
  });
});

describe('the open-connections gauge', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill('SIGKILL'));

  it('drops by the time a client has seen its close, whoever closed it (relay in its own process, /metrics over HTTP)', async () => {
    child = fork(fileURLToPath(new URL('./fixtures/relay-process.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    const base = `http://127.0.0.1:${port}`;
    const gauge = async () => Number(/\nsealsig_relay_connections (\d+)\n/.exec((await get(base, '/metrics')).body)?.[1]);
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(`ws://127.0.0.1:${port}/`)));
    const seen: number[] = [];
    // Read on the client's 'close' event, with no timer in between.
    for (const [i, c] of clients.entries()) {
      if (i % 2 === 0) c.ws.close();
      else c.sendRaw('text'); // the relay closes this one (1003)
      await c.closed;
      seen.push(await gauge());
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
  });
});
