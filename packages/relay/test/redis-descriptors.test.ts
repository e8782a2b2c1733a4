/**
 * Room descriptors shared through Redis (src/redis-descriptors.ts): relay nodes on one real redis-server serve
 * one table, with the memory table's rule (write-key binding, growing serials, handover) checked atomically
 * across nodes, TTLs kept by Redis, maxEntries for the shared table, and 503 while Redis is down.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import sodium from 'libsodium-wrappers';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ChainLink } from '../src/descriptor-proof.js';
import { RedisDescriptorTable } from '../src/redis-descriptors.js';
import { sodiumReady, type DescriptorOptions, type Relay } from '../src/index.js';
import { handover, idBytes, proof, writer } from './descriptor-proofs.js';
import { sleep, startRelay } from './helpers.js';
import { startRedis } from '@sealsig/transport-conformance';

const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const ID2 = 'BBBBBBBBBBBBBBBBBBBBBA';
const ID3 = 'CCCCCCCCCCCCCCCCCCCCCA';
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// --- HTTP -------------------------------------------------------------------------------------------------
/** PUT `body` under `id` with the given proof (or signed by writer `w` with `serial`). */
function putRaw(base: string, id: string, body: Uint8Array, p: Uint8Array, ttl: number): Promise<Response> {
  return fetch(`${base}/descriptors/${id}?ttl=${ttl}`, { method: 'PUT', body: body.slice(), headers: { authorization: `Sealsig ${b64(p)}` } });
}

async function put(base: string, id: string, body: Uint8Array, w: number, serial: number, opts: { ttl?: number; chain?: ChainLink[] } = {}): Promise<number> {
  const ttl = opts.ttl ?? 60_000;
  const res = await putRaw(base, id, body, proof(writer(w), id, body, ttl, serial, opts.chain), ttl);
  await res.arrayBuffer();
  return res.status;
}

async function get(base: string, id: string): Promise<{ status: number; body: Uint8Array; headers: Headers }> {
  const res = await fetch(`${base}/descriptors/${id}`);
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}

// --- nodes ------------------------------------------------------------------------------------------------
let redis: Awaited<ReturnType<typeof startRedis>>;
let probe: Redis;
let prefixes = 0;
const relays: Relay[] = [];

beforeAll(async () => {
  await sodiumReady();
  await sodium.ready;
  redis = await startRedis();
  probe = new Redis(redis.url);
});
afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

/** Two relay nodes on `url` with a key prefix of their own (tests do not see each other's descriptors). */
async function nodes(limits: DescriptorOptions = {}, url = redis.url): Promise<{ a: string; b: string; prefix: string; relays: Relay[] }> {
  const prefix = `t${++prefixes}:`;
  // Every request comes from 127.0.0.1: the per-address rate limit is out of the way.
  const descriptors = { rateLimit: { perSecond: 100_000, burst: 100_000 }, ...limits };
  const started = await Promise.all([0, 1].map(() => startRelay({ redis: { url, keyPrefix: prefix }, descriptors })));
  relays.push(...started.map((s) => s.relay));
  return { a: started[0]!.http, b: started[1]!.http, prefix, relays: started.map((s) => s.relay) };
}

describe('descriptors shared through Redis', () => {
  it('a PUT on node A is served by node B; the hash holds the value and its binding', async () => {
    const { a, b, prefix } = await nodes();
    const value = new Uint8Array(4096).map((_, i) => i * 7);
    expect(await put(a, ID, value, 0, 1)).toBe(204);
    const got = await get(b, ID);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.body).toEqual(value);
    expect((await get(a, ID)).body).toEqual(value);
    expect((await get(b, ID2)).status).toBe(404);
    expect(await put(b, ID2, new Uint8Array(0), 1, 1), 'an empty descriptor').toBe(204);
    const empty = await get(a, ID2);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual(new Uint8Array(0));
    const stored = await probe.hgetallBuffer(`${prefix}d:${ID}`);
    expect(Object.keys(stored).sort()).toEqual(['k', 's', 'v']);
    expect(new Uint8Array(stored.k!)).toEqual(writer(0).publicKey);
    expect(stored.s!.toString()).toBe('1');
    expect(await probe.zcard(`${prefix}d`)).toBe(2);
  });

  it('the bound key binds on every node: the successor it certified writes on B, the old key and older serials are refused (403) on both', async () => {
    const { a, b } = await nodes();
    expect(await put(a, ID, new Uint8Array([1]), 0, 10)).toBe(204);
    // A stranger, a replay of an older serial, the same serial again: refused on either node.
    for (const node of [a, b]) {
      expect(await put(node, ID, new Uint8Array([6]), 1, 11), 'a stranger').toBe(403);
      expect(await put(node, ID, new Uint8Array([6]), 0, 9), 'an older serial').toBe(403);
      expect(await put(node, ID, new Uint8Array([6]), 0, 10), 'the same serial').toBe(403);
    }
    // A forged proof: writer 0's key and serial, the value swapped after signing.
    const forged = proof(writer(0), ID, new Uint8Array([1, 2]), 60_000, 20);
    expect((await putRaw(b, ID, new Uint8Array([6, 6]), forged, 60_000)).status).toBe(403);
    expect((await get(b, ID)).body).toEqual(new Uint8Array([1]));
    // Handover: the successor, certified by the chain, writes on B; the binding moves to it on every node.
    const chain = handover(ID, writer(0), writer(1));
    expect(await put(b, ID, new Uint8Array([2]), 1, 11, { chain })).toBe(204);
    expect((await get(a, ID)).body).toEqual(new Uint8Array([2]));
    expect(await put(a, ID, new Uint8Array([3]), 1, 12)).toBe(204);
    expect(await put(a, ID, new Uint8Array([6]), 0, 13), 'the former moderator').toBe(403);
    expect(await put(b, ID, new Uint8Array([6]), 0, 14, { chain }), 'the former moderator with the chain').toBe(403);
    expect((await get(b, ID)).body).toEqual(new Uint8Array([3]));
    expect(relays[1]!.metrics().descriptorRequests).toMatchObject({ stored: 1, forbidden: 5 });
  });

  it('the shared descriptor-put vector (test/fixtures/descriptor-put.json), its puts alternating between the nodes', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const v: any = JSON.parse(readFileSync(new URL('./fixtures/descriptor-put.json', import.meta.url), 'utf8'));
    const { a, b } = await nodes();
    const status = { stored: 204, forbidden: 403, bad_request: 400 } as Record<string, number>;
    let i = 0;
    for (const step of [...v.steps, ...v.malformed]) {
      const node = i++ % 2 === 0 ? a : b;
      const res = await putRaw(node, v.id, hex(step.value), hex(step.proof), step.ttl_ms);
      expect(res.status, step.description).toBe(status[step.expect]);
    }
    const last = hex(v.steps.filter((s: { expect: string }) => s.expect === 'stored').at(-1).value);
    expect((await get(a, v.id)).body).toEqual(last);
    expect((await get(b, v.id)).body).toEqual(last);
  });

  it('concurrent PUTs with the same serial through both nodes: exactly one is stored, the others get 403', async () => {
    const { a, b, prefix } = await nodes();
    const ids = Array.from({ length: 8 }, (_, n) => b64(new Uint8Array(16).fill(0x40 + n)));
    for (const [n, id] of ids.entries()) {
      // A first put (a free id) raced by 6 writers, then a replacement raced by 6 values of one serial.
      for (const [round, serial] of [[0, 100], [1, 200]] as const) {
        const values = Array.from({ length: 6 }, (_, k) => new Uint8Array([round, n, k]));
        const who = (k: number): number => (round === 0 ? k : 0);
        const statuses = await Promise.all(values.map((value, k) => put(k % 2 === 0 ? a : b, id, value, who(k), serial)));
        expect(statuses.filter((s) => s === 204), `${id} round ${round}: ${statuses.join(',')}`).toHaveLength(1);
        expect(statuses.filter((s) => s === 403)).toHaveLength(5);
        const winner = values[statuses.indexOf(204)]!;
        expect((await get(a, id)).body).toEqual(winner);
        expect((await get(b, id)).body).toEqual(winner);
        if (round === 0) {
          // Round 1 needs writer 0 bound (the winner may be anyone): free the id and bind it to writer 0.
          await probe.del(`${prefix}d:${id}`);
          expect(await put(a, id, new Uint8Array([9]), 0, 150)).toBe(204);
        }
      }
    }
  });

  it('concurrent PUTs with growing serials: whatever the order, the newest serial ends up stored', async () => {
    const { a, b } = await nodes();
    expect(await put(a, ID, new Uint8Array([0]), 0, 1)).toBe(204);
    for (let round = 0; round < 10; round++) {
      const base = 10 + round * 10;
      const serials = [base + 3, base + 1, base + 2, base + 4];
      const statuses = await Promise.all(serials.map((s, k) => put(k % 2 === 0 ? a : b, ID, new Uint8Array([s]), 0, s)));
      expect(statuses.every((s) => s === 204 || s === 403), statuses.join(',')).toBe(true);
      expect(statuses[3]).toBe(204);
      expect((await get(b, ID)).body).toEqual(new Uint8Array([base + 4]));
    }
  });

  it('keeps the TTL in Redis (PEXPIRE, capped at maxTtlMs): an expired descriptor is 404 on both nodes and its id is free again', async () => {
    const { a, b, prefix } = await nodes({ maxTtlMs: 600 });
    expect(await put(a, ID, new Uint8Array([1]), 0, 1, { ttl: 250 })).toBe(204);
    expect(await put(a, ID2, new Uint8Array([2]), 0, 1, { ttl: 3_600_000 })).toBe(204);
    const ttl1 = await probe.pttl(`${prefix}d:${ID}`);
    const ttl2 = await probe.pttl(`${prefix}d:${ID2}`);
    expect(ttl1).toBeGreaterThan(0);
    expect(ttl1).toBeLessThanOrEqual(250);
    expect(ttl2).toBeGreaterThan(250);
    expect(ttl2).toBeLessThanOrEqual(600);
    expect((await get(b, ID)).status).toBe(200);
    await sleep(300);
    expect((await get(b, ID)).status).toBe(404);
    expect((await get(a, ID)).status).toBe(404);
    // Once expired, the binding went with the value: another key may claim the id.
    expect(await put(b, ID, new Uint8Array([3]), 1, 1, { ttl: 100 })).toBe(204);
    expect((await get(a, ID)).body).toEqual(new Uint8Array([3]));
    await sleep(350);
    expect((await get(a, ID2)).status).toBe(404);
  });

  it('maxEntries bounds the shared table: a new id beyond it is 429 on any node; replacing a held id is not', async () => {
    const { a, b, prefix } = await nodes({ maxEntries: 2, maxTtlMs: 300 });
    expect(await put(a, ID, new Uint8Array([1]), 0, 1)).toBe(204);
    expect(await put(b, ID2, new Uint8Array([2]), 0, 1)).toBe(204);
    expect(await put(b, ID3, new Uint8Array([3]), 0, 1)).toBe(429);
    expect(await put(a, ID3, new Uint8Array([3]), 0, 2)).toBe(429);
    expect(await put(a, ID2, new Uint8Array([4]), 0, 2), 'a replacement').toBe(204);
    expect(relays[0]!.metrics().descriptorRequests).toMatchObject({ full: 1 });
    expect(relays[0]!.metrics().descriptors).toBe(2);
    // Expired entries leave the count: the new id fits once they are gone.
    await sleep(350);
    expect(await put(b, ID3, new Uint8Array([3]), 0, 3)).toBe(204);
    expect(await probe.zcard(`${prefix}d`)).toBe(1);
    const indexTtl = await probe.pttl(`${prefix}d`);
    expect(indexTtl).toBeGreaterThan(0);
    expect(indexTtl).toBeLessThanOrEqual(300);
  });
});

describe('the Redis descriptor table, a read-check-write race', () => {
  it('re-reads and checks again when the binding changed between its read and its write', async () => {
    const prefix = `race${++prefixes}:`;
    const limits = { maxEntries: 10, maxTtlMs: 60_000, maxBytes: 64 };
    const x = new RedisDescriptorTable({ ...limits, url: redis.url, keyPrefix: prefix });
    const y = new RedisDescriptorTable({ ...limits, url: redis.url, keyPrefix: prefix });
    onTestFinished(() => Promise.all([x.close(), y.close()]).then(() => undefined));
    await Promise.all([x.start(), y.start()]);
    const w = writer(0);
    const v = (n: number) => new Uint8Array([n]);
    expect(await x.put(ID, v(1), proof(w, ID, v(1), 60_000, 1), 60_000)).toBe('stored');

    // Between x's read and its compare-and-set, y stores serial 5 (once): x's serial 6 is then checked again and stored.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const conn = (x as any).redis as Redis;
    const read = conn.hmgetBuffer.bind(conn);
    let interleave: (() => Promise<unknown>) | undefined;
    let reads = 0;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (conn as any).hmgetBuffer = async (...args: any[]) => {
      reads++;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const r = await (read as any)(...args);
      const step = interleave;
      interleave = undefined;
      if (step !== undefined) await step();
      return r;
    };
    interleave = () => y.put(ID, v(5), proof(w, ID, v(5), 60_000, 5), 60_000);
    expect(await x.put(ID, v(6), proof(w, ID, v(6), 60_000, 6), 60_000)).toBe('stored');
    expect(reads).toBe(2);
    expect(await y.get(ID)).toEqual(v(6));

    // Now y stores serial 8 in between: x's serial 7 is refused on the second check, y's value stays.
    reads = 0;
    interleave = () => y.put(ID, v(8), proof(w, ID, v(8), 60_000, 8), 60_000);
    expect(await x.put(ID, v(7), proof(w, ID, v(7), 60_000, 7), 60_000)).toBe('forbidden');
    expect(reads).toBe(2);
    expect(await x.get(ID)).toEqual(v(8));

    // Changed before every write: after MAX_ATTEMPTS rounds the put answers 'unavailable' (503), nothing stored.
    let serial = 100;
    reads = 0;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (conn as any).hmgetBuffer = async (...args: any[]) => {
      reads++;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const r = await (read as any)(...args);
      const s = serial++;
      await y.put(ID, v(s & 0xff), proof(w, ID, v(s & 0xff), 60_000, s), 60_000);
      return r;
    };
    expect(await x.put(ID, v(9), proof(w, ID, v(9), 60_000, 1_000), 60_000)).toBe('unavailable');
    expect(reads).toBe(4);
    expect(await y.get(ID)).toEqual(v((serial - 1) & 0xff));
  });
});

describe('descriptors while Redis is down', () => {
  it('answers 503 with retry-after on both nodes (no crash), and works again once Redis is back', async () => {
    let down = await startRedis();
    const port = down.port;
    onTestFinished(() => down.stop());
    const { a, b, relays: pair } = await nodes({}, down.url);
    expect(await put(a, ID, new Uint8Array([1]), 0, 1)).toBe(204);
    await down.stop();
    let res = await putRaw(b, ID, new Uint8Array([2]), proof(writer(0), ID, new Uint8Array([2]), 60_000, 2), 60_000);
    for (let i = 0; i < 100 && res.status !== 503; i++) {
      await sleep(20);
      res = await putRaw(b, ID, new Uint8Array([2]), proof(writer(0), ID, new Uint8Array([2]), 60_000, 2), 60_000);
    }
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    for (const node of [a, b]) {
      const got = await get(node, ID);
      expect(got.status).toBe(503);
      expect(got.headers.get('retry-after')).toBe('1');
      expect(await put(node, ID2, new Uint8Array([3]), 0, 1)).toBe(503);
    }
    expect(pair[1]!.metrics().descriptorRequests.unavailable).toBeGreaterThanOrEqual(2);
    down = await startRedis(port);
    // Back (without persistence, the table starts empty): puts and gets work again on both nodes.
    let status = 0;
    for (let i = 0; i < 200 && status !== 204; i++) {
      status = await put(a, ID, new Uint8Array([4]), 0, 4);
      if (status !== 204) await sleep(20);
    }
    expect(status).toBe(204);
    let got = await get(b, ID);
    for (let i = 0; i < 200 && got.status === 503; i++) {
      await sleep(20);
      got = await get(b, ID);
    }
    expect(got.status).toBe(200);
    expect(got.body).toEqual(new Uint8Array([4]));
  });
});
