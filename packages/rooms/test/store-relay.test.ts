/**
 * relayDescriptorStore (src/store/relay-store.ts) against a real @sealsig/relay over real HTTP, plus small
 * node:http servers for the answers a relay does not give (5xx, silence, oversized bodies).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ready, type KeyPair } from '@sealsig/core';
import { createRelay, type Relay, type RelayOptions } from '@sealsig/relay';
import { relayDescriptorStore } from '../src/store/relay-store.js';
import type { DescriptorStore } from '../src/store/store.js';

import { ID, ID2, code, handover, signed, writer } from './store-helpers.js';

let A: KeyPair;
let B: KeyPair;
let S: KeyPair;
beforeAll(async () => {
  await ready();
  [A, B, S] = [writer(1), writer(2), writer(3)];
});
let serial = 1;
/** Put options for `value` under `id` by `w` (moderator A unless said), with the next serial. */
const by = (value: Uint8Array, ttlMs = 60_000, id = ID, w: KeyPair = A) => signed(w, id, value, ttlMs, serial++);

const relays: Relay[] = [];
async function relayStore(options: RelayOptions = {}): Promise<{ store: DescriptorStore; relay: Relay; url: string }> {
  const relay = createRelay({ host: '127.0.0.1', port: 0, ...options });
  const { port } = await relay.listen();
  relays.push(relay);
  const url = `http://127.0.0.1:${port}`;
  return { store: relayDescriptorStore({ url }), relay, url };
}
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

/** A plain HTTP server whose every answer comes from `handler`. */
const servers: Server[] = [];
async function fake(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('relayDescriptorStore against @sealsig/relay', () => {
  it('round trip: put, get, replace under the same key, missing id', async () => {
    const { store } = await relayStore();
    const value = new Uint8Array(4096).map((_, i) => i);
    await store.put(ID, value, by(value));
    expect(await store.get(ID)).toEqual(value);
    await store.put(ID, new Uint8Array([7]), by(new Uint8Array([7])));
    expect(await store.get(ID)).toEqual(new Uint8Array([7]));
    await store.put(ID2, new Uint8Array(0), by(new Uint8Array(0), 60_000, ID2));
    expect(await store.get(ID2)).toEqual(new Uint8Array(0));
    expect(await store.get('CCCCCCCCCCCCCCCCCCCCCA')).toBeUndefined();
  });

  it('the relay enforces the write proof: the successor takes over, the former moderator and strangers cannot write', async () => {
    const { store } = await relayStore();
    const chain = handover(ID, A, B);
    await store.put(ID, new Uint8Array([1]), by(new Uint8Array([1])));
    expect(await code(store.put(ID, new Uint8Array([2]), by(new Uint8Array([2]), 60_000, ID, B)))).toBe('E_AUTH_FAILED');
    await store.put(ID, new Uint8Array([2]), signed(B, ID, new Uint8Array([2]), 60_000, serial++, chain));
    expect(await code(store.put(ID, new Uint8Array([3]), signed(A, ID, new Uint8Array([3]), 60_000, serial++, chain)))).toBe('E_AUTH_FAILED');
    expect(await code(store.put(ID, new Uint8Array([3]), by(new Uint8Array([3]), 60_000, ID, S)))).toBe('E_AUTH_FAILED');
    expect(await store.get(ID)).toEqual(new Uint8Array([2]));
  });

  it('keeps a path prefix of the base URL', async () => {
    const seen: string[] = [];
    const url = await fake((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(req.method === 'PUT' ? 204 : 404).end();
    });
    const store = relayDescriptorStore({ url: `${url}/relay/` });
    const opts = by(new Uint8Array([1]), 5);
    await store.put(ID, new Uint8Array([1]), opts);
    expect(await store.get(ID)).toBeUndefined();
    expect(seen).toEqual([`PUT /relay/descriptors/${ID}?ttl=5 Sealsig ${Buffer.from(opts.proof).toString('base64url')}`, `GET /relay/descriptors/${ID} `]);
  });

  it('the value expires after its ttl', async () => {
    // The relay's clock (performance.now) is virtual here: on a loaded machine the real time between the put
    // and the first get could exceed the ttl.
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const { store } = await relayStore();
      await store.put(ID, new Uint8Array([1]), by(new Uint8Array([1]), 100));
      expect(await store.get(ID)).toEqual(new Uint8Array([1]));
      vi.advanceTimersByTime(101);
      expect(await store.get(ID)).toBeUndefined();
      await store.put(ID, new Uint8Array([2]), by(new Uint8Array([2]), 100, ID, S)); // expired: a new first put binds the id
      expect(await store.get(ID)).toEqual(new Uint8Array([2]));
    } finally {
      vi.useRealTimers();
    }
  });

  it('maps the relay refusals: 403 E_AUTH_FAILED, 413 E_FRAME_TOO_LARGE, 429 E_RATE_LIMITED', async () => {
    const { store } = await relayStore({ descriptors: { maxBytes: 100, maxEntries: 1 } });
    await store.put(ID, new Uint8Array([1]), by(new Uint8Array([1])));
    expect(await code(store.put(ID, new Uint8Array([2]), by(new Uint8Array([2]), 60_000, ID, S))), 'another key').toBe('E_AUTH_FAILED');
    const old = by(new Uint8Array([3]));
    await store.put(ID, new Uint8Array([4]), by(new Uint8Array([4])));
    expect(await code(store.put(ID, new Uint8Array([3]), old)), 'an older serial').toBe('E_AUTH_FAILED');
    expect(await code(store.put(ID, new Uint8Array(101), by(new Uint8Array(101))))).toBe('E_FRAME_TOO_LARGE');
    expect(await code(store.put(ID2, new Uint8Array(1), by(new Uint8Array(1), 60_000, ID2)))).toBe('E_RATE_LIMITED');
    expect(await store.get(ID)).toEqual(new Uint8Array([4]));

    const limited = await relayStore({ descriptors: { rateLimit: { perSecond: 0.001, burst: 2 } } });
    expect(await limited.store.get(ID)).toBeUndefined();
    expect(await limited.store.get(ID)).toBeUndefined();
    expect(await code(limited.store.get(ID))).toBe('E_RATE_LIMITED');
  });

  it('validates locally before any request (E_INVALID_ARGUMENT, E_FRAME_TOO_LARGE)', async () => {
    let requests = 0;
    const url = await fake((_req, res) => {
      requests++;
      res.writeHead(204).end();
    });
    const store = relayDescriptorStore({ url });
    const ok = by(new Uint8Array(1), 1000);
    expect(await code(store.put('short', new Uint8Array(1), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(ID, new Uint8Array(4097), ok))).toBe('E_FRAME_TOO_LARGE');
    expect(await code(store.put(ID, new Uint8Array(1), { ttlMs: 0, proof: ok.proof }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(ID, new Uint8Array(1), { ttlMs: 1, proof: new Uint8Array(0) }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(ID, new Uint8Array(1), { ttlMs: 1, writeToken: new Uint8Array(32) } as never)), 'an old write token').toBe('E_INVALID_ARGUMENT');
    expect(await code(store.get('../x/AAAAAAAAAAAAAAAAAA'))).toBe('E_INVALID_ARGUMENT');
    expect(requests).toBe(0);
    for (const bad of [{ url: 'ftp://x' }, { url: 'not a url' }, { url: 'http://x', timeoutMs: 0 }, null]) {
      expect(() => relayDescriptorStore(bad as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    }
  });

  it('a 400 from the store is E_INVALID_ARGUMENT; 5xx, odd statuses and no server are E_TRANSPORT', async () => {
    let status = 400;
    const url = await fake((_req, res) => res.writeHead(status).end('x'));
    const store = relayDescriptorStore({ url });
    const put = () => store.put(ID, new Uint8Array(1), by(new Uint8Array(1), 1000));
    expect(await code(put())).toBe('E_INVALID_ARGUMENT');
    for (status of [500, 502, 503, 302, 401, 418]) {
      expect(await code(put()), `put ${status}`).toBe('E_TRANSPORT');
      expect(await code(store.get(ID)), `get ${status}`).toBe('E_TRANSPORT');
    }
    // A port nothing listens on (a relay that has closed).
    const { relay, url: gone } = await relayStore();
    await relay.close();
    expect(await code(relayDescriptorStore({ url: gone }).get(ID))).toBe('E_TRANSPORT');
  });

  it('a store that does not answer within timeoutMs is E_TRANSPORT', async () => {
    const url = await fake(() => {
      // never answers
    });
    const store = relayDescriptorStore({ url, timeoutMs: 100 });
    expect(await code(store.get(ID))).toBe('E_TRANSPORT');
    expect(await code(store.put(ID, new Uint8Array(1), by(new Uint8Array(1), 1000)))).toBe('E_TRANSPORT');
  });

  it('an answer over 4096 bytes is E_TRANSPORT, declared or streamed', async () => {
    const url = await fake((req, res) => {
      if (req.url?.endsWith(ID)) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 5000 }).end(Buffer.alloc(5000));
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked, no length
        for (let i = 0; i < 100; i++) res.write(Buffer.alloc(1000));
        res.end();
      }
    });
    const store = relayDescriptorStore({ url });
    expect(await code(store.get(ID))).toBe('E_TRANSPORT');
    expect(await code(store.get(ID2))).toBe('E_TRANSPORT');
  });

  it('uses an injected fetch', async () => {
    const { url } = await relayStore();
    const calls: string[] = [];
    const store = relayDescriptorStore({
      url,
      fetch: (input, init) => {
        calls.push(`${init?.method} ${String(input)}`);
        return fetch(input, init);
      },
    });
    await store.put(ID, new Uint8Array([1]), by(new Uint8Array([1]), 1000));
    expect(await store.get(ID)).toEqual(new Uint8Array([1]));
    expect(calls).toEqual([`PUT ${url}/descriptors/${ID}?ttl=1000`, `GET ${url}/descriptors/${ID}`]);
  });
});

