/**
 * The room-descriptor table (src/descriptors.ts) against a model, and PUT/GET /descriptors/<id>
 * (src/descriptor-endpoint.ts) over real HTTP on a real relay.
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DescriptorTable, type PutResult } from '../src/descriptors.js';
import { createRelay, RelayError, sodiumReady, type Relay, type RelayOptions } from '../src/index.js';
import { sleep, startRelay } from './helpers.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const ID2 = 'BBBBBBBBBBBBBBBBBBBBBB';
const token = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const auth = (t: Uint8Array): Record<string, string> => ({ authorization: `Bearer ${b64(t)}` });

const relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function start(options: RelayOptions = {}): Promise<string> {
  const { relay, http } = await startRelay(options);
  relays.push(relay);
  return http;
}

async function put(base: string, id: string, body: Uint8Array, t: Uint8Array, ttl: number | string = 60_000, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/descriptors/${id}?ttl=${ttl}`, { method: 'PUT', body: body.slice(), headers: { ...auth(t), ...headers } });
}

async function getBytes(base: string, id: string): Promise<{ status: number; body: Uint8Array; headers: Headers }> {
  const res = await fetch(`${base}/descriptors/${id}`);
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}

/** A raw HTTP request (for bodies fetch will not send: chunked, oversized, lying content-length). */
function raw(base: string, path: string, init: { method: string; headers?: Record<string, string | number>; chunks?: Uint8Array[] }): Promise<number | 'reset'> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const req = request({ host: hostname, port, path, method: init.method, headers: init.headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('reset'));
    for (const c of init.chunks ?? []) req.write(c);
    req.end();
  });
}

describe('DescriptorTable', () => {
  beforeAll(() => sodiumReady());

  it('behaves like a map with expiry, token binding and a size bound (property, against a model)', () => {
    const ids = ['AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBB', 'CCCCCCCCCCCCCCCCCCCCCC', 'DDDDDDDDDDDDDDDDDDDDDD'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), id: fc.constantFrom(...ids), token: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 0, max: 40 }), ttl: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ kind: fc.constant('get' as const), id: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 120 }) }),
      fc.record({ kind: fc.constant('sweep' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (ops, maxEntries) => {
        const limits = { maxEntries, maxTtlMs: 100, maxBytes: 32 };
        const table = new DescriptorTable(limits);
        const model = new Map<string, { value: Uint8Array; token: number; expires: number }>();
        let now = 1_000;
        for (const o of ops) {
          for (const [k, e] of model) if (e.expires <= now) model.delete(k);
          if (o.kind === 'tick') now += o.ms;
          else if (o.kind === 'sweep') table.sweep(now);
          else if (o.kind === 'get') expect(table.get(o.id, now)).toEqual(model.get(o.id)?.value);
          else {
            const value = new Uint8Array(o.size).fill(o.size);
            const held = model.get(o.id);
            let expected: PutResult = 'stored';
            if (o.size > limits.maxBytes) expected = 'too_large';
            else if (held !== undefined && held.token !== o.token) expected = 'forbidden';
            else if (held === undefined && model.size >= maxEntries) expected = 'full';
            expect(table.put(o.id, value, token(o.token), o.ttl, now)).toBe(expected);
            if (expected === 'stored') model.set(o.id, { value, token: o.token, expires: now + Math.min(o.ttl, limits.maxTtlMs) });
          }
          table.sweep(now);
          for (const [k, e] of model) if (e.expires <= now) model.delete(k);
          expect(table.size).toBe(model.size);
          expect(table.bytes).toBe([...model.values()].reduce((n, e) => n + e.value.length, 0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses bad ids, tokens and ttls', () => {
    const table = new DescriptorTable({ maxEntries: 10, maxTtlMs: 1000, maxBytes: 10 });
    expect(table.put('short', new Uint8Array(1), token(1), 10, 0)).toBe('bad_request');
    expect(table.put(ID, new Uint8Array(1), new Uint8Array(31), 10, 0)).toBe('bad_request');
    expect(table.put(ID, new Uint8Array(1), token(1), 0, 0)).toBe('bad_request');
    expect(table.put(ID, new Uint8Array(1), token(1), 1.5, 0)).toBe('bad_request');
    expect(table.get('not an id', 0)).toBeUndefined();
    expect(table.size).toBe(0);
  });
});

describe('PUT/GET /descriptors/<id>', () => {
  it('stores and serves a descriptor (round trip), replaces it under the same token', async () => {
    const base = await start();
    const value = new Uint8Array(4096).map((_, i) => i * 7);
    const res = await put(base, ID, value, token(1));
    expect(res.status).toBe(204);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const got = await getBytes(base, ID);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.headers.get('access-control-allow-origin')).toBe('*');
    expect(got.body).toEqual(value);

    expect((await put(base, ID, new Uint8Array([9, 9]), token(1))).status).toBe(204);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array([9, 9]));
    expect((await put(base, ID2, new Uint8Array(0), token(2))).status).toBe(204);
    expect((await getBytes(base, ID2)).body).toEqual(new Uint8Array(0));
    expect((await getBytes(base, 'CCCCCCCCCCCCCCCCCCCCCC')).status).toBe(404);

    const m = relays[0]!.metrics();
    expect(m.descriptors).toBe(2);
    expect(m.descriptorBytes).toBe(2);
    expect(m.descriptorRequests).toMatchObject({ stored: 3, found: 3, not_found: 1 });
    expect(relays[0]!.metricsText()).toContain('sealsig_relay_descriptors 2');
  });

  it('forgets a descriptor once its ttl has passed, and caps the ttl at maxTtlMs', async () => {
    const base = await start({ descriptors: { maxTtlMs: 300 } });
    expect((await put(base, ID, new Uint8Array([1]), token(1), 100)).status).toBe(204);
    expect((await put(base, ID2, new Uint8Array([2]), token(1), 3_600_000)).status).toBe(204);
    expect((await getBytes(base, ID)).status).toBe(200);
    await sleep(150);
    expect((await getBytes(base, ID)).status).toBe(404);
    // Once expired, the id is free: another token may claim it.
    expect((await put(base, ID, new Uint8Array([3]), token(2), 100)).status).toBe(204);
    await sleep(250);
    expect((await getBytes(base, ID2)).status).toBe(404);
  });

  it('refuses a put under another write token with 403 and keeps the value', async () => {
    const base = await start();
    expect((await put(base, ID, new Uint8Array([1, 2, 3]), token(1))).status).toBe(204);
    const res = await put(base, ID, new Uint8Array([6, 6, 6]), token(2));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('descriptor id is held under another write token');
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses oversized bodies with 413 (declared, chunked, huge) and keeps serving', async () => {
    const base = await start({ descriptors: { maxBytes: 100 } });
    const path = `/descriptors/${ID}?ttl=1000`;
    expect((await put(base, ID, new Uint8Array(101), token(1))).status).toBe(413);
    expect((await put(base, ID, new Uint8Array(100), token(1))).status).toBe(204);
    const chunked = await raw(base, path, { method: 'PUT', headers: { ...auth(token(1)), 'transfer-encoding': 'chunked' }, chunks: [new Uint8Array(60), new Uint8Array(60)] });
    expect(chunked).toBe(413);
    // A client that declares a small body and sends more is cut off (413, or the connection reset).
    const huge = await raw(base, path, { method: 'PUT', headers: { ...auth(token(1)) }, chunks: [new Uint8Array(1024 * 1024)] });
    expect([413, 'reset']).toContain(huge);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array(100));
    const def = await start();
    expect((await put(def, ID, new Uint8Array(4097), token(1))).status).toBe(413);
    expect((await put(def, ID, new Uint8Array(4096), token(1))).status).toBe(204);
  });

  it('refuses bad ids, ttls and tokens with 400, and other methods with 405', async () => {
    const base = await start();
    const v = new Uint8Array([1]);
    for (const id of ['', 'short', `${ID}A`, 'AAAAAAAAAAAAAAAAAAAA%2B', 'AAAAAAAAAAAAAAAAAAAA+A', `${ID}/x`]) {
      expect((await put(base, id, v, token(1))).status, `id ${id}`).toBe(400);
      expect((await fetch(`${base}/descriptors/${id}`)).status, `get ${id}`).toBe(400);
    }
    expect((await fetch(`${base}/descriptors`)).status).toBe(400);
    for (const ttl of ['0', '-1', '1.5', 'abc', '', '9999999999999999']) {
      expect((await put(base, ID, v, token(1), ttl)).status, `ttl ${ttl}`).toBe(400);
    }
    expect((await fetch(`${base}/descriptors/${ID}`, { method: 'PUT', body: v })).status).toBe(400);
    const badTokens = [`Bearer ${b64(new Uint8Array(31))}`, `Bearer ${b64(new Uint8Array(33))}`, `Basic ${b64(token(1))}`, `Bearer ${b64(token(1))}=`, `Bearer ${b64(token(1)).slice(0, 42)}B`, 'Bearer'];
    for (const a of badTokens) {
      expect((await fetch(`${base}/descriptors/${ID}?ttl=1000`, { method: 'PUT', body: v, headers: { authorization: a } })).status, a).toBe(400);
    }
    expect((await fetch(`${base}/descriptors/${ID}`, { method: 'DELETE' })).status).toBe(405);
    expect(relays[0]!.metrics().descriptors).toBe(0);
  });

  it('rate-limits each client address with 429, and refuses new ids when the table is full', async () => {
    const base = await start({ descriptors: { rateLimit: { perSecond: 0.001, burst: 3 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await getBytes(base, ID)).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect(relays[0]!.metrics().descriptorRequests.rate_limited).toBe(2);

    const full = await start({ descriptors: { maxEntries: 2 } });
    expect((await put(full, ID, new Uint8Array([1]), token(1))).status).toBe(204);
    expect((await put(full, ID2, new Uint8Array([1]), token(1))).status).toBe(204);
    const third = await put(full, 'CCCCCCCCCCCCCCCCCCCCCC', new Uint8Array([1]), token(1));
    expect(third.status).toBe(429);
    expect(await third.text()).toBe('descriptor table is full');
    expect((await put(full, ID, new Uint8Array([2]), token(1))).status).toBe(204); // replacing is still fine
  });

  it('honours allowedOrigins and answers the CORS preflight', async () => {
    const base = await start({ allowedOrigins: ['https://app.example'] });
    const refused = await put(base, ID, new Uint8Array([1]), token(1), 1000, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('origin not allowed');
    expect((await fetch(`${base}/descriptors/${ID}`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const ok = await put(base, ID, new Uint8Array([1]), token(1), 1000, { origin: 'https://app.example' });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const pre = await fetch(`${base}/descriptors/${ID}?ttl=1000`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('is off with descriptors: false, and bad options are refused', async () => {
    const base = await start({ descriptors: false });
    expect((await getBytes(base, ID)).status).toBe(404);
    expect((await put(base, ID, new Uint8Array([1]), token(1))).status).toBe(404);
    const bad: unknown[] = [{ maxEntries: 0 }, { maxTtlMs: -1 }, { maxBytes: 1.5 }, { rateLimit: { perSecond: 0, burst: 1 } }, 'yes'];
    for (const d of bad) {
      expect(() => createRelay({ descriptors: d as RelayOptions['descriptors'] })).toThrow(RelayError);
    }
  });
});
