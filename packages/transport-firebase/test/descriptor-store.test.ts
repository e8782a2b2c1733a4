/**
 * firebaseDescriptorStore (src/descriptor-store.ts) against the real firebase SDK and the local
 * firebase-server, with database.rules.json in force (and, for stored garbage, without rules).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from 'firebase/app';
import { goOffline, onValue, ref, set } from 'firebase/database';
import type { DatabaseReference } from 'firebase/database';
import { isSealsigError, ready, toBase64Url } from '@sealsig/core';
import { randomBytes, randomTopic, sleep } from '@sealsig/transport-conformance';
import { DESCRIPTOR_MAX_BYTES, DESCRIPTOR_MAX_TTL_MS, firebaseDescriptorStore } from '../src/index.js';
import type { DescriptorStore } from '../src/index.js';
import { FirebaseHarness } from './harness.js';

const rules = JSON.parse(readFileSync(new URL('../database.rules.json', import.meta.url), 'utf8')) as object;
/** Firebase takes the write proof and cannot check it (§R7): any bytes of the right size do here. */
const proof = (n: number): Uint8Array => new Uint8Array(100).fill(n);
const newId = (): string => randomTopic(); // 22 base64url characters, like a descriptor id

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(isSealsigError(e), String(e)).toBe(true);
    return (e as { code: string }).code;
  }
}

async function outcome(write: PromiseLike<unknown>): Promise<string> {
  try {
    await write;
    return 'ok';
  } catch (e) {
    return String(e).toLowerCase().includes('permission_denied') ? 'denied' : String(e);
  }
}

/** Resolves with 'ok' once a listen at `r` gets data, or 'denied' when the server cancels it. */
function readOutcome(r: DatabaseReference): Promise<string> {
  return new Promise((resolve) => {
    const off: () => void = onValue(
      r,
      () => {
        off();
        resolve('ok');
      },
      () => resolve('denied'),
    );
  });
}

describe('firebaseDescriptorStore under database.rules.json', () => {
  const harness = new FirebaseHarness();
  let store: DescriptorStore;
  let other: DescriptorStore;
  beforeAll(async () => {
    setLogLevel('error');
    await harness.start();
    harness.server.setRules(rules);
    await ready();
    store = firebaseDescriptorStore(harness.client().database);
    other = firebaseDescriptorStore(harness.client().database);
  });
  afterAll(() => harness.stop());

  it('round trip: put, get from another client, replace, missing id', async () => {
    const id = newId();
    const value = randomBytes(DESCRIPTOR_MAX_BYTES);
    await store.put(id, value, { ttlMs: 60_000, proof: proof(1) });
    expect(await other.get(id)).toEqual(value);
    await other.put(id, new Uint8Array([1, 2]), { ttlMs: 60_000, proof: proof(1) });
    expect(await store.get(id)).toEqual(new Uint8Array([1, 2]));
    expect(await store.get(newId())).toBeUndefined();
    const empty = newId();
    await store.put(empty, new Uint8Array(0), { ttlMs: 60_000, proof: proof(1) });
    expect(await other.get(empty)).toEqual(new Uint8Array(0));
  });

  it('stores { v, exp } with exp on the server clock (the proof is not stored)', async () => {
    const id = newId();
    const before = Date.now();
    await store.put(id, new Uint8Array([7, 7, 7]), { ttlMs: 5_000, proof: proof(3) });
    const stored = (await harness.server.read(`sealsig-descriptors/${id}`)) as { v: string; exp: number };
    expect(Object.keys(stored).sort()).toEqual(['exp', 'v']);
    expect(stored.v).toBe(toBase64Url(new Uint8Array([7, 7, 7])));
    expect(stored.exp).toBeGreaterThanOrEqual(before + 5_000 - 1_000);
    expect(stored.exp).toBeLessThanOrEqual(Date.now() + 5_000 + 1_000);
    // A TTL over the maximum is capped (the rules would refuse it).
    await store.put(id, new Uint8Array([1]), { ttlMs: 10 * DESCRIPTOR_MAX_TTL_MS, proof: proof(3) });
    const capped = (await harness.server.read(`sealsig-descriptors/${id}`)) as { exp: number };
    expect(capped.exp).toBeLessThanOrEqual(Date.now() + DESCRIPTOR_MAX_TTL_MS + 1_000);
  });

  it('expires: get is undefined after the ttl', async () => {
    const id = newId();
    await store.put(id, new Uint8Array([1]), { ttlMs: 150, proof: proof(1) });
    expect(await other.get(id)).toEqual(new Uint8Array([1]));
    await sleep(300);
    expect(await other.get(id)).toBeUndefined();
    await other.put(id, new Uint8Array([2]), { ttlMs: 60_000, proof: proof(2) });
    expect(await store.get(id)).toEqual(new Uint8Array([2]));
  });

  it('the documented limit: rules cannot check write proofs, so another writer can overwrite (readers still refuse what is not genuine)', async () => {
    const id = newId();
    await store.put(id, new Uint8Array([1]), { ttlMs: 60_000, proof: proof(1) });
    await other.put(id, new Uint8Array([9]), { ttlMs: 60_000, proof: proof(2) });
    expect(await store.get(id)).toEqual(new Uint8Array([9]));
  });

  it('the rules refuse deleting an unexpired entry, and bad shapes', async () => {
    const db = harness.client().database;
    const id = newId();
    await store.put(id, new Uint8Array([1]), { ttlMs: 60_000, proof: proof(1) });
    const r = ref(db, `sealsig-descriptors/${id}`);
    const now = Date.now();
    const good = { v: 'AQ', exp: now + 60_000 };
    expect(await outcome(set(r, null)), 'deleting an unexpired entry').toBe('denied');
    const fresh = ref(db, `sealsig-descriptors/${newId()}`);
    const cases: [string, object | null][] = [
      ['a missing field', { v: 'AQ' }],
      ['the old token hash field', { ...good, w: 'w'.repeat(43) }],
      ['an extra field', { ...good, x: 1 }],
      ['a value over 4096 bytes', { ...good, v: 'A'.repeat(5463) }],
      ['an expiry in the past', { ...good, exp: now - 1_000 }],
      ['an expiry beyond the max ttl', { ...good, exp: now + DESCRIPTOR_MAX_TTL_MS + 120_000 }],
      ['a number as the value', { ...good, v: 5 }],
    ];
    for (const [what, value] of cases) expect(await outcome(set(fresh, value)), what).toBe('denied');
    expect(await outcome(set(ref(db, 'sealsig-descriptors/short'), good)), 'a bad id').toBe('denied');
    expect(await outcome(set(fresh, { ...good, v: 'A'.repeat(5462) })), 'the largest value').toBe('ok');
  });

  it('the rules refuse listing the descriptors, and allow reading one id', async () => {
    // Listens, not get(): the harness answers get() itself, without the rules (test/firebase-server.ts).
    const db = harness.client().database;
    expect(await readOutcome(ref(db, 'sealsig-descriptors'))).toBe('denied');
    expect(await readOutcome(ref(db, `sealsig-descriptors/${newId()}`))).toBe('ok');
    expect(await readOutcome(ref(db, 'sealsig-descriptors/not-an-id'))).toBe('denied');
  });

  it('validates arguments with typed errors', async () => {
    const id = newId();
    const ok = { ttlMs: 1000, proof: proof(1) };
    expect(await code(store.put('short', new Uint8Array(1), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(`${id.slice(1)}/`, new Uint8Array(1), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(id, new Uint8Array(DESCRIPTOR_MAX_BYTES + 1), ok))).toBe('E_FRAME_TOO_LARGE');
    expect(await code(store.put(id, [1] as unknown as Uint8Array, ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(id, new Uint8Array(1), { ttlMs: 0, proof: proof(1) }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(id, new Uint8Array(1), { ttlMs: 1.5, proof: proof(1) }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(id, new Uint8Array(1), { ttlMs: 10, proof: new Uint8Array(0) }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(id, new Uint8Array(1), { ttlMs: 10, proof: new Uint8Array(2049) }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(store.put(id, new Uint8Array(1), { ttlMs: 10, writeToken: new Uint8Array(32) } as never)), 'an old write token').toBe('E_INVALID_ARGUMENT');
    expect(await code(store.get('../x'))).toBe('E_INVALID_ARGUMENT');
    const db = harness.client().database;
    for (const o of [{ path: '' }, { path: 'a//b' }, { path: 'a.b' }, { timeoutMs: 0 }]) {
      expect(() => firebaseDescriptorStore(db, o)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    }
  });
});

describe('firebaseDescriptorStore reading what a database writer stored (no rules)', () => {
  const harness = new FirebaseHarness();
  beforeAll(async () => {
    setLogLevel('error');
    await harness.start();
    await ready();
  });
  afterAll(() => harness.stop());

  it('treats malformed or oversized entries as missing, and honours a custom path', async () => {
    const db = harness.client().database;
    const store = firebaseDescriptorStore(db, { path: 'apps/one/descriptors' });
    const exp = Date.now() + 60_000;
    const garbage: unknown[] = [
      'a string',
      7,
      { v: 'AQ' },
      { v: 'AQ', exp, x: 1 },
      { v: 'AQ', exp: 'soon' },
      { v: 'A', exp }, // not base64url of whole bytes
      { v: 'AR', exp }, // not canonical
      { v: 'A+', exp },
      { v: 'A'.repeat(5464), exp },
      { v: 'AQ', exp, w: 'w'.repeat(43) }, // the old layout, with a token hash
    ];
    for (const g of garbage) {
      const id = newId();
      await set(ref(db, `apps/one/descriptors/${id}`), g);
      expect(await store.get(id), JSON.stringify(g)).toBeUndefined();
    }
    const id = newId();
    await store.put(id, new Uint8Array([4]), { ttlMs: 60_000, proof: proof(1) });
    expect(await harness.server.read(`apps/one/descriptors/${id}`)).toMatchObject({ v: 'BA' });
    // A malformed entry does not hold the id: a put replaces it.
    const held = newId();
    await set(ref(db, `apps/one/descriptors/${held}`), { junk: true });
    await store.put(held, new Uint8Array([5]), { ttlMs: 60_000, proof: proof(2) });
    expect(await store.get(held)).toEqual(new Uint8Array([5]));
  });

  it('an unreachable database is E_TRANSPORT after timeoutMs', async () => {
    const client = harness.client();
    goOffline(client.database);
    const store = firebaseDescriptorStore(client.database, { timeoutMs: 200 });
    expect(await code(store.get(newId()))).toBe('E_TRANSPORT');
  });
});

describe('a sealsig room publishing its sealed descriptor to Firebase', () => {
  const harness = new FirebaseHarness();
  beforeAll(async () => {
    setLogLevel('error');
    await harness.start();
    harness.server.setRules(rules);
    await ready();
  });
  afterAll(() => harness.stop());

  it('the database holds only ciphertext; another client reads title and liveness; leaving marks it not live', async () => {
    const { fetchDescriptor, isRoomLive, publishDescriptor } = await import('@sealsig/rooms');
    const { createSessionId, ed25519KeyPair } = await import('@sealsig/core');
    const store = firebaseDescriptorStore(harness.client().database);
    const reader = firebaseDescriptorStore(harness.client().database);
    const mod = ed25519KeyPair();
    const invite = { sessionId: createSessionId(), moderatorKey: mod.publicKey, chainIndex: 0, expiresAt: Date.now() + 86_400_000 - (Date.now() % 1000), passwordRequired: true };
    // What the rooms package (handover.ts) does while it moderates, and when it leaves.
    const o = { store, title: 'Firebase standup', ttlMs: 60_000 };
    await publishDescriptor(o, invite, mod.privateKey, mod.publicKey, []);
    expect(await fetchDescriptor(invite, reader)).toMatchObject({ title: 'Firebase standup', passwordRequired: true, live: true });
    const all = JSON.stringify(await harness.server.read('sealsig-descriptors'));
    expect(all).not.toContain('Firebase standup');
    expect(all).not.toContain(invite.sessionId);
    await publishDescriptor(o, invite, mod.privateKey, mod.publicKey, [], false);
    expect(await isRoomLive(invite, reader)).toBe(false);
  });

  it('the documented limit, reader side: an invite holder overwrites, and readers refuse garbage (E_AUTH_FAILED) and, once they saw newer, an older descriptor (E_STALE)', async () => {
    const { DescriptorReader, publishDescriptor, descriptorKeys } = await import('@sealsig/rooms');
    const { createSessionId, ed25519KeyPair } = await import('@sealsig/core');
    const store = firebaseDescriptorStore(harness.client().database);
    const attacker = firebaseDescriptorStore(harness.client().database);
    const mod = ed25519KeyPair();
    const member = ed25519KeyPair();
    const invite = { sessionId: createSessionId(), moderatorKey: mod.publicKey, chainIndex: 0, expiresAt: Date.now() + 86_400_000 - (Date.now() % 1000), passwordRequired: false };
    const keys = descriptorKeys(invite.sessionId);
    keys.key.fill(0);
    const id = toBase64Url(keys.id);
    const o = { store, title: 'first', ttlMs: 60_000 };
    await publishDescriptor(o, invite, mod.privateKey, mod.publicKey, []);
    const recorded = (await attacker.get(id))!;
    o.title = 'second';
    await publishDescriptor(o, invite, mod.privateKey, mod.publicKey, []);
    const reader = new DescriptorReader(invite, firebaseDescriptorStore(harness.client().database));
    expect((await reader.fetch())?.title).toBe('second');
    // The rules let a member write: the recorded older descriptor, then its own.
    await attacker.put(id, recorded, { ttlMs: 60_000, proof: proof(1) });
    expect(await code(reader.fetch())).toBe('E_STALE');
    await publishDescriptor({ store: attacker, title: 'not the moderator' }, invite, member.privateKey, member.publicKey, []);
    expect(await code(reader.fetch())).toBe('E_AUTH_FAILED');
  });
});
