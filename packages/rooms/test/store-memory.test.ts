/** memoryDescriptorStore (src/store/memory-store.ts) on an injected clock, and checkPut's validation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealsigError } from '@sealsig/core';
import { memoryDescriptorStore } from '../src/store/memory-store.js';
import { checkPut } from '../src/store/store.js';
import { DESCRIPTOR_MAX_BYTES } from '../src/store/store.js';

import { ID, ID2, code, token } from './store-helpers.js';

function store(maxEntries?: number) {
  const clock = { t: 1_000 };
  return { s: memoryDescriptorStore({ now: () => clock.t, maxEntries }), clock };
}

describe('memoryDescriptorStore', () => {
  it('stores and returns a copy of the value', async () => {
    const { s } = store();
    const value = new Uint8Array([1, 2, 3]);
    await s.put(ID, value, { ttlMs: 1000, writeToken: token(1) });
    value[0] = 9;
    const got = await s.get(ID);
    expect(got).toEqual(new Uint8Array([1, 2, 3]));
    got![1] = 9;
    expect(await s.get(ID)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await s.get(ID2)).toBeUndefined();
  });

  it('forgets a value at its expiry; the id is then free for another token', async () => {
    const { s, clock } = store();
    await s.put(ID, new Uint8Array([1]), { ttlMs: 100, writeToken: token(1) });
    clock.t += 99;
    expect(await s.get(ID)).toEqual(new Uint8Array([1]));
    clock.t += 1;
    expect(await s.get(ID)).toBeUndefined();
    await s.put(ID, new Uint8Array([2]), { ttlMs: 100, writeToken: token(2) });
    expect(await s.get(ID)).toEqual(new Uint8Array([2]));
  });

  it('binds an id to its first write token: another token is E_AUTH_FAILED, the same one replaces', async () => {
    const { s } = store();
    await s.put(ID, new Uint8Array([1]), { ttlMs: 1000, writeToken: token(1) });
    expect(await code(s.put(ID, new Uint8Array([2]), { ttlMs: 1000, writeToken: token(2) }))).toBe('E_AUTH_FAILED');
    expect(await s.get(ID)).toEqual(new Uint8Array([1]));
    await s.put(ID, new Uint8Array([3]), { ttlMs: 1000, writeToken: token(1) });
    expect(await s.get(ID)).toEqual(new Uint8Array([3]));
  });

  it('refuses a new id beyond maxEntries with E_RATE_LIMITED, until entries expire', async () => {
    const { s, clock } = store(1);
    await s.put(ID, new Uint8Array([1]), { ttlMs: 100, writeToken: token(1) });
    expect(await code(s.put(ID2, new Uint8Array([1]), { ttlMs: 100, writeToken: token(1) }))).toBe('E_RATE_LIMITED');
    clock.t += 100;
    expect(await code(s.put(ID2, new Uint8Array([1]), { ttlMs: 100, writeToken: token(1) }))).toBe('ok');
  });

  it('refuses bad arguments with typed errors', async () => {
    const { s } = store();
    const ok = { ttlMs: 1000, writeToken: token(1) };
    expect(await code(s.put('short', new Uint8Array(1), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(`${ID}+`, new Uint8Array(1), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(ID, [1] as unknown as Uint8Array, ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(ID, new Uint8Array(DESCRIPTOR_MAX_BYTES + 1), ok))).toBe('E_FRAME_TOO_LARGE');
    expect(await code(s.put(ID, new Uint8Array(DESCRIPTOR_MAX_BYTES), ok))).toBe('ok');
    for (const ttlMs of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(await code(s.put(ID, new Uint8Array(1), { ttlMs, writeToken: token(1) })), `ttl ${ttlMs}`).toBe('E_INVALID_ARGUMENT');
    }
    expect(await code(s.put(ID, new Uint8Array(1), { ttlMs: 1, writeToken: new Uint8Array(31) }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(ID, new Uint8Array(1), undefined as never))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.get('nope'))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.get(7 as unknown as string))).toBe('E_INVALID_ARGUMENT');
  });

  it('checkPut accepts exactly the valid puts (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), fc.string({ maxLength: 30 })),
        fc.integer({ min: 0, max: DESCRIPTOR_MAX_BYTES + 2 }),
        fc.oneof(fc.integer({ min: -5, max: 1e9 }), fc.double()),
        fc.integer({ min: 30, max: 34 }),
        (id, size, ttlMs, tokenBytes) => {
          const valid = /^[A-Za-z0-9_-]{22}$/.test(id) && size <= DESCRIPTOR_MAX_BYTES && Number.isSafeInteger(ttlMs) && ttlMs >= 1 && tokenBytes === 32;
          let thrown: unknown;
          try {
            checkPut(id, new Uint8Array(size), { ttlMs, writeToken: new Uint8Array(tokenBytes) });
          } catch (e) {
            thrown = e;
          }
          expect(thrown === undefined).toBe(valid);
          if (thrown !== undefined) expect(isSealsigError(thrown)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
