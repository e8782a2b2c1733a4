/**
 * The room-descriptor table (src/descriptors.ts) against a model, and PUT/GET /descriptors/<id>
 * (src/descriptor-endpoint.ts) over real HTTP on a real relay.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DescriptorTable, type PutResult } from '../src/descriptors.js';
import { authorizePut, MAX_PROOF_BYTES, parseWriteProof, putInput, type ChainLink } from '../src/descriptor-proof.js';
import { createRelay, RelayError, sodiumReady, type Relay, type RelayOptions } from '../src/index.js';
import { encodeProof, handover, idBytes, proof, writer, type Writer } from './descriptor-proofs.js';
import { sleep, startRelay } from './helpers.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const ID2 = 'BBBBBBBBBBBBBBBBBBBBBA';
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

const auth = (p: Uint8Array): Record<string, string> => ({ authorization: `Sealsig ${b64(p)}` });
let serials = 1;

const relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});
beforeAll(() => sodiumReady());

async function start(options: RelayOptions = {}): Promise<string> {
  const { relay, http } = await startRelay(options);
  relays.push(relay);
  return http;
}

/** PUT `body` under `id`, signed by writer `w` (a number) with the next serial, or with the given proof. */
async function put(base: string, id: string, body: Uint8Array, w: number | Uint8Array = 0, ttl: number | string = 60_000, headers: Record<string, string> = {}): Promise<Response> {
  const signedTtl = Number.isSafeInteger(Number(ttl)) && Number(ttl) > 0 ? Number(ttl) : 1;
  const p = typeof w === 'number' ? proof(writer(w), id, body, signedTtl, serials++) : w;
  return fetch(`${base}/descriptors/${id}?ttl=${ttl}`, { method: 'PUT', body: body.slice(), headers: { ...auth(p), ...headers } });
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
  it('behaves like a map with expiry, write-key binding, handover and a size bound (property, against a model)', () => {
    const ids = ['AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBA', 'CCCCCCCCCCCCCCCCCCCCCA', 'DDDDDDDDDDDDDDDDDDDDDA'];
    const chains = new Map(ids.map((id) => [id, handover(id, writer(0), writer(1))]));
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('put' as const),
        id: fc.constantFrom(...ids),
        who: fc.integer({ min: 0, max: 2 }),
        chain: fc.boolean(),
        serial: fc.integer({ min: 0, max: 30 }),
        size: fc.integer({ min: 0, max: 40 }),
        ttl: fc.integer({ min: 1, max: 200 }),
      }),
      fc.record({ kind: fc.constant('get' as const), id: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 120 }) }),
      fc.record({ kind: fc.constant('sweep' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), (ops, maxEntries) => {
        const limits = { maxEntries, maxTtlMs: 100, maxBytes: 32 };
        const table = new DescriptorTable(limits);
        const model = new Map<string, { value: Uint8Array; who: number; serial: number; expires: number }>();
        let now = 1_000;
        for (const o of ops) {
          for (const [k, e] of model) if (e.expires <= now) model.delete(k);
          if (o.kind === 'tick') now += o.ms;
          else if (o.kind === 'sweep') table.sweep(now);
          else if (o.kind === 'get') expect(table.get(o.id, now)).toEqual(model.get(o.id)?.value);
          else {
            const value = new Uint8Array(o.size).fill(o.size);
            const held = model.get(o.id);
            const certified = held !== undefined && (o.who === held.who || (held.who === 0 && o.who === 1 && o.chain));
            let expected: PutResult = 'stored';
            if (o.size > limits.maxBytes) expected = 'too_large';
            else if (held !== undefined && (o.serial <= held.serial || !certified)) expected = 'forbidden';
            else if (held === undefined && model.size >= maxEntries) expected = 'full';
            const p = proof(writer(o.who), o.id, value, o.ttl, o.serial, o.chain ? chains.get(o.id) : []);
            expect(table.put(o.id, value, p, o.ttl, now)).toBe(expected);
            if (expected === 'stored') model.set(o.id, { value, who: o.who, serial: o.serial, expires: now + Math.min(o.ttl, limits.maxTtlMs) });
          }
          table.sweep(now);
          for (const [k, e] of model) if (e.expires <= now) model.delete(k);
          expect(table.size).toBe(model.size);
          expect(table.bytes).toBe([...model.values()].reduce((n, e) => n + e.value.length, 0));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('refuses bad ids, proofs and ttls', () => {
    const table = new DescriptorTable({ maxEntries: 10, maxTtlMs: 1000, maxBytes: 10 });
    const v = new Uint8Array(1);
    const ok = proof(writer(0), ID, v, 10, 1);
    expect(table.put('short', v, ok, 10, 0)).toBe('bad_request');
    expect(table.put('AAAAAAAAAAAAAAAAAAAAAB', v, ok, 10, 0), 'a non-canonical id').toBe('bad_request');
    expect(table.put(ID, v, new Uint8Array(31), 10, 0)).toBe('bad_request');
    expect(table.put(ID, v, ok, 0, 0)).toBe('bad_request');
    expect(table.put(ID, v, ok, 1.5, 0)).toBe('bad_request');
    expect(table.put(ID, v, new Uint8Array([...ok, 0]), 10, 0)).toBe('bad_request');
    expect(table.get('not an id', 0)).toBeUndefined();
    expect(table.size).toBe(0);
    expect(table.put(ID, v, ok, 10, 0)).toBe('stored');
  });

  it('parseWriteProof refuses every corruption of a proof or decodes it; never throws (property)', () => {
    const good = proof(writer(1), ID, new Uint8Array([1]), 1000, 1_795_478_400_000, handover(ID, writer(0), writer(1)));
    expect(parseWriteProof(good)).toBeDefined();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: good.length - 1 }), fc.uint8Array({ maxLength: 64 }), (at, xor, cut, junk) => {
        for (const bytes of [good.map((b, i) => (i === at ? b ^ xor : b)), good.subarray(0, cut), junk, new Uint8Array([...good, ...junk.subarray(0, 1)])]) {
          const p = parseWriteProof(bytes);
          if (p !== undefined) {
            expect(p.writeKey.length).toBe(32);
            expect(Number.isSafeInteger(p.serial)).toBe(true);
          }
          if (p !== undefined) expect(() => authorizePut(undefined, idBytes(ID), 1000, new Uint8Array([1]), p)).not.toThrow();
        }
      }),
      { numRuns: 300 },
    );
    expect(parseWriteProof(new Uint8Array(MAX_PROOF_BYTES + 1))).toBeUndefined();
  });
});

describe('the shared descriptor-put vector (test/fixtures/descriptor-put.json, written by the rooms vector script)', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const v: any = JSON.parse(readFileSync(new URL('./fixtures/descriptor-put.json', import.meta.url), 'utf8'));

  it('is the same file as @sealsig/rooms checks', () => {
    const rooms = new URL('../../rooms/test/fixtures/descriptor-put.json', import.meta.url);
    expect(readFileSync(new URL('./fixtures/descriptor-put.json', import.meta.url), 'utf8')).toBe(readFileSync(rooms, 'utf8'));
  });

  it('each put, applied in order, gives the expected result; the signed inputs match', () => {
    const table = new DescriptorTable({ maxEntries: 10, maxTtlMs: 3_600_000, maxBytes: 4096 });
    expect(b64(hex(v.descriptor_id))).toBe(v.id);
    for (const step of v.steps) {
      expect(Buffer.from(putInput(hex(v.descriptor_id), step.serial, step.ttl_ms, hex(step.value))).toString('hex'), step.description).toBe(step.signed_input);
      expect(table.put(v.id, hex(step.value), hex(step.proof), step.ttl_ms, 0), step.description).toBe(step.expect);
    }
    for (const m of v.malformed) expect(table.put(v.id, hex(m.value), hex(m.proof), m.ttl_ms, 0), m.description).toBe(m.expect);
    expect(table.get(v.id, 0)).toEqual(hex(v.steps.filter((s: { expect: string }) => s.expect === 'stored').at(-1).value));
  });
});

describe('PUT/GET /descriptors/<id>', () => {
  it('stores and serves a descriptor (round trip), replaces it under the same key', async () => {
    const base = await start();
    const value = new Uint8Array(4096).map((_, i) => i * 7);
    const res = await put(base, ID, value, 0);
    expect(res.status).toBe(204);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const got = await getBytes(base, ID);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.headers.get('access-control-allow-origin')).toBe('*');
    expect(got.body).toEqual(value);

    expect((await put(base, ID, new Uint8Array([9, 9]), 0)).status).toBe(204);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array([9, 9]));
    expect((await put(base, ID2, new Uint8Array(0), 1)).status).toBe(204);
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
    expect((await put(base, ID, new Uint8Array([1]), 0, 100)).status).toBe(204);
    expect((await put(base, ID2, new Uint8Array([2]), 0, 3_600_000)).status).toBe(204);
    expect((await getBytes(base, ID)).status).toBe(200);
    await sleep(150);
    expect((await getBytes(base, ID)).status).toBe(404);
    // Once expired, the id is free: another key may claim it (a new first put binds it).
    expect((await put(base, ID, new Uint8Array([3]), 1, 100)).status).toBe(204);
    await sleep(250);
    expect((await getBytes(base, ID2)).status).toBe(404);
  });

  it('refuses a put by an invite holder who is not the moderator with 403 and keeps the value', async () => {
    const base = await start();
    expect((await put(base, ID, new Uint8Array([1, 2, 3]), 0)).status).toBe(204);
    const res = await put(base, ID, new Uint8Array([6, 6, 6]), 1);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/^the write proof does not allow this put/);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array([1, 2, 3]));
    expect(relays[0]!.metrics().descriptorRequests).toMatchObject({ stored: 1, forbidden: 1 });
  });

  it('refuses a recorded older put with 403', async () => {
    const base = await start();
    const first = proof(writer(0), ID, new Uint8Array([1]), 60_000, 100);
    expect((await put(base, ID, new Uint8Array([1]), first)).status).toBe(204);
    expect((await put(base, ID, new Uint8Array([2]), proof(writer(0), ID, new Uint8Array([2]), 60_000, 101))).status).toBe(204);
    expect((await put(base, ID, new Uint8Array([1]), first)).status).toBe(403);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array([2]));
  });

  it('after a handover the successor writes and the former moderator cannot lock it out', async () => {
    const base = await start();
    const [A, B] = [writer(0), writer(1)];
    const chain = handover(ID, A, B);
    const at = (w: Writer, byte: number, serial: number, c: ChainLink[] = []) => put(base, ID, new Uint8Array([byte]), proof(w, ID, new Uint8Array([byte]), 60_000, serial, c));
    expect((await at(A, 1, 1)).status).toBe(204);
    expect((await at(B, 2, 2)).status, 'no link').toBe(403);
    expect((await at(B, 2, 2, chain)).status, 'with the link').toBe(204);
    expect((await at(A, 3, 3)).status, 'former moderator').toBe(403);
    expect((await at(A, 3, 4, chain)).status, 'former moderator with the chain').toBe(403);
    expect((await at(B, 4, 5)).status).toBe(204);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array([4]));
  });

  it('refuses oversized bodies with 413 (declared, chunked, huge) and keeps serving', async () => {
    const base = await start({ descriptors: { maxBytes: 100 } });
    const path = `/descriptors/${ID}?ttl=1000`;
    expect((await put(base, ID, new Uint8Array(101), 0)).status).toBe(413);
    expect((await put(base, ID, new Uint8Array(100), 0)).status).toBe(204);
    const chunked = await raw(base, path, { method: 'PUT', headers: { ...auth(new Uint8Array([0x90])), 'transfer-encoding': 'chunked' }, chunks: [new Uint8Array(60), new Uint8Array(60)] });
    expect(chunked).toBe(413);
    // A client that declares a small body and sends more is cut off (413, or the connection reset).
    const huge = await raw(base, path, { method: 'PUT', headers: { ...auth(new Uint8Array([0x90])) }, chunks: [new Uint8Array(1024 * 1024)] });
    expect([413, 'reset']).toContain(huge);
    expect((await getBytes(base, ID)).body).toEqual(new Uint8Array(100));
    const def = await start();
    expect((await put(def, ID, new Uint8Array(4097), 0)).status).toBe(413);
    expect((await put(def, ID, new Uint8Array(4096), 0)).status).toBe(204);
  });

  it('refuses bad ids, ttls and tokens with 400, and other methods with 405', async () => {
    const base = await start();
    const v = new Uint8Array([1]);
    for (const id of ['', 'short', `${ID}A`, 'AAAAAAAAAAAAAAAAAAAA%2B', 'AAAAAAAAAAAAAAAAAAAA+A', `${ID}/x`]) {
      expect((await put(base, id, v, 0)).status, `id ${id}`).toBe(400);
      expect((await fetch(`${base}/descriptors/${id}`)).status, `get ${id}`).toBe(400);
    }
    expect((await fetch(`${base}/descriptors`)).status).toBe(400);
    for (const ttl of ['0', '-1', '1.5', 'abc', '', '9999999999999999']) {
      expect((await put(base, ID, v, 0, ttl)).status, `ttl ${ttl}`).toBe(400);
    }
    expect((await fetch(`${base}/descriptors/${ID}`, { method: 'PUT', body: v })).status).toBe(400);
    const good = b64(proof(writer(0), ID, v, 1000, 1));
    const badTokens = [
      `Bearer ${b64(new Uint8Array(32).fill(1))}`, // the old write token: refused with a clear message
      `Basic ${good}`,
      `Sealsig ${good}=`,
      `Sealsig ${good}+`,
      `Sealsig ${'A'.repeat(2800)}`, // longer than any proof: refused before decoding
      `Sealsig ${b64(new Uint8Array([0x94]))}`,
      `Sealsig ${b64(new Uint8Array(40))}`,
      'Sealsig ',
      'Sealsig',
    ];
    for (const a of badTokens) {
      expect((await fetch(`${base}/descriptors/${ID}?ttl=1000`, { method: 'PUT', body: v, headers: { authorization: a } })).status, a).toBe(400);
    }
    const bearer = await fetch(`${base}/descriptors/${ID}?ttl=1000`, { method: 'PUT', body: v, headers: { authorization: badTokens[0]! } });
    expect(await bearer.text()).toMatch(/^write tokens are no longer accepted: authorization must be "Sealsig /);
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
    expect((await put(full, ID, new Uint8Array([1]), 0)).status).toBe(204);
    expect((await put(full, ID2, new Uint8Array([1]), 0)).status).toBe(204);
    const third = await put(full, 'CCCCCCCCCCCCCCCCCCCCCA', new Uint8Array([1]), 0);
    expect(third.status).toBe(429);
    expect(await third.text()).toBe('descriptor table is full');
    expect((await put(full, ID, new Uint8Array([2]), 0)).status).toBe(204); // replacing is still fine
  });

  it('honours allowedOrigins and answers the CORS preflight', async () => {
    const base = await start({ allowedOrigins: ['https://app.example'] });
    const refused = await put(base, ID, new Uint8Array([1]), 0, 1000, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('origin not allowed');
    expect((await fetch(`${base}/descriptors/${ID}`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const ok = await put(base, ID, new Uint8Array([1]), 0, 1000, { origin: 'https://app.example' });
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
    expect((await put(base, ID, new Uint8Array([1]), 0)).status).toBe(404);
    const bad: unknown[] = [{ maxEntries: 0 }, { maxTtlMs: -1 }, { maxBytes: 1.5 }, { rateLimit: { perSecond: 0, burst: 1 } }, 'yes'];
    for (const d of bad) {
      expect(() => createRelay({ descriptors: d as RelayOptions['descriptors'] })).toThrow(RelayError);
    }
  });
});
