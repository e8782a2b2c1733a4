/**
 * Sealed room descriptors and the presence check (docs/PROTOCOL.md §R7), on the memory store, a lying store
 * and a real relay. The moderator side is publishDescriptor, called here as handover.ts calls it (the moderator's
 * signing secret, its key, the room's chain), so these tests do not need a running room.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createSessionId, ed25519KeyPair, isSealsigError, ready, type KeyPair } from '@sealsig/core';
import { createRelay } from '@sealsig/relay';
import {
  DescriptorReader,
  descriptorKeys,
  extendChain,
  fetchDescriptor,
  isRoomLive,
  memoryDescriptorStore,
  openDescriptor,
  publishDescriptor,
  relayDescriptorStore,
  sealDescriptor,
  signWriteProof,
  verifyDescriptor,
  type DescriptorOptions,
  type DescriptorPutOptions,
  type DescriptorStore,
  type Invite,
} from '../src/index.js';
import type { ChainLink } from '../src/wire.js';
import { issueInvite } from '../src/invite-grant.js';
import { code } from './store-helpers.js';

beforeAll(() => ready());

/** A room as its creator sees it: the invite (pinning the creator at chain index 0) and the creator's key pair. */
function room(passwordRequired = false): { invite: Invite; mod: KeyPair; id: string; idBytes: Uint8Array } {
  const mod = ed25519KeyPair();
  const invite: Invite = issueInvite(createSessionId(), mod.publicKey, 0, passwordRequired, mod.privateKey, 86_400_000);
  const keys = descriptorKeys(invite.sessionId);
  keys.key.fill(0);
  return { invite, mod, id: Buffer.from(keys.id).toString('base64url'), idBytes: keys.id };
}

const publish = (o: DescriptorOptions, invite: Invite, who: KeyPair, chain: ChainLink[] = [], live = true) => publishDescriptor(o, invite, who.privateKey, who.publicKey, chain, live);

/** A store that records every call (copies of what it was given), as a curious operator would. */
function recording(inner: DescriptorStore) {
  const seen: { id: string; value?: Uint8Array; opts?: DescriptorPutOptions }[] = [];
  const copy = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).map(([k, x]) => [k, x instanceof Uint8Array ? x.slice() : x])) as T;
  const store: DescriptorStore = {
    put: (id, value, o) => (seen.push({ id, value: value.slice(), opts: copy(o) }), inner.put(id, value, o)),
    get: (id) => (seen.push({ id }), inner.get(id)),
  };
  return { store, seen, puts: () => seen.filter((s) => s.value !== undefined) };
}

/** A store that returns whatever the test tells it to (a store that lies, or Firebase written by anyone). */
function lying() {
  let value: Uint8Array | undefined;
  const store: DescriptorStore = { put: async (_id, v) => void (value = v.slice()), get: async () => value?.slice() };
  return { store, show: (v: Uint8Array | undefined) => (value = v) };
}

describe('sealed descriptors', () => {
  it('the moderator publishes; a would-be joiner reads title and settings; the store sees only ciphertext', async () => {
    const { store, seen } = recording(memoryDescriptorStore());
    const { invite, mod } = room(true);
    await publish({ store, title: 'Standup 10:00', ttlMs: 2_000 }, invite, mod);
    const d = await fetchDescriptor(invite, store);
    expect(d).toMatchObject({ title: 'Standup 10:00', passwordRequired: true, live: true });
    expect(d!.moderatorKey).toEqual(mod.publicKey);
    const sid = Buffer.from(invite.sessionId);
    for (const s of seen) {
      expect(s.id).not.toContain(invite.sessionId);
      if (s.value) {
        expect(Buffer.from(s.value).includes(Buffer.from('Standup'))).toBe(false);
        expect(Buffer.from(s.value).includes(sid)).toBe(false);
        expect(Buffer.from(s.opts!.proof).includes(sid)).toBe(false);
      }
    }
    expect(await isRoomLive(invite, store)).toBe(true);
  });

  it('an invite holder who is not the moderator cannot overwrite the descriptor', async () => {
    const store = memoryDescriptorStore();
    const { invite, mod, id } = room();
    const o = { store, title: 'the real one' };
    await publish(o, invite, mod);
    const member = ed25519KeyPair(); // holds the invite, so knows everything the invite derives
    expect(await code(publish({ store, title: 'garbage' }, invite, member))).toBe('E_AUTH_FAILED');
    const garbage = new Uint8Array(200).fill(7);
    expect(await code(store.put(id, garbage, { ttlMs: 60_000, proof: signWriteProof(member.privateKey, member.publicKey, Buffer.from(id, 'base64url'), Date.now() + 1e6, 60_000, garbage, []) }))).toBe('E_AUTH_FAILED');
    expect((await fetchDescriptor(invite, store))?.title).toBe('the real one');
    await publish(o, invite, mod); // the moderator still can
  });

  it('a recorded older put is refused by the store', async () => {
    const { store, puts } = recording(memoryDescriptorStore());
    const { invite, mod } = room();
    const o = { store, title: 'first' };
    await publish(o, invite, mod);
    o.title = 'second';
    await publish(o, invite, mod);
    const [old] = puts();
    expect(await code(store.put(old!.id, old!.value!, old!.opts!))).toBe('E_AUTH_FAILED');
    expect((await fetchDescriptor(invite, store))?.title).toBe('second');
  });

  it('a reader refuses an older-version descriptor after seeing a newer one; a first-time reader can be shown it while unexpired', async () => {
    const { store, show } = lying();
    const { invite, mod } = room();
    const { puts, store: rec } = recording(store);
    const o = { store: rec, title: 'old', ttlMs: 60_000 };
    await publish(o, invite, mod);
    o.title = 'new';
    await publish(o, invite, mod);
    const [older, newer] = puts();
    const reader = new DescriptorReader(invite, store);
    show(newer!.value);
    const seen = await reader.fetch();
    expect(seen?.title).toBe('new');
    expect(reader.newest).toBe(seen!.serial);
    show(older!.value); // the store puts back the recorded older one
    expect(await code(reader.fetch())).toBe('E_STALE');
    expect(() => reader.open(older!.value!)).toThrow(expect.objectContaining({ code: 'E_STALE' }));
    expect(await code(reader.isLive())).toBe('E_STALE');
    // The documented limit: a reader with no memory accepts an older descriptor that has not expired (§R7).
    expect((await fetchDescriptor(invite, store))?.title).toBe('old');
    // The newer one, read again, is fine (same serial).
    show(newer!.value);
    expect((await reader.fetch())?.title).toBe('new');
  });

  it('after leaving, a reader that saw the "not live" descriptor refuses the earlier live one', async () => {
    const { store, show } = lying();
    const { invite, mod } = room();
    const { puts, store: rec } = recording(store);
    const o = { store: rec, title: 't', ttlMs: 60_000 };
    await publish(o, invite, mod);
    await publish(o, invite, mod, [], false);
    const [live, leaving] = puts();
    const reader = new DescriptorReader(invite, store);
    show(leaving!.value);
    expect(await reader.fetch()).toBeUndefined(); // expired: not live
    expect(await reader.isLive()).toBe(false);
    show(live!.value);
    expect(await code(reader.fetch())).toBe('E_STALE');
  });

  it('openDescriptor refuses an expired descriptor (E_STALE); fetch reads it as not live; the store drops it', async () => {
    let now = Date.now();
    const store = memoryDescriptorStore({ now: () => now });
    const { invite, mod } = room();
    await publish({ store, title: 't', ttlMs: 60_000 }, invite, mod);
    const sealed = (await store.get(descriptorKeysId(invite)))!;
    expect(openDescriptor(invite, sealed).live).toBe(true);
    const expiresAt = verifyDescriptor(invite, sealed).expiresAt;
    expect(() => openDescriptor(invite, sealed, expiresAt)).toThrow(expect.objectContaining({ code: 'E_STALE' }));
    expect(openDescriptor(invite, sealed, expiresAt - 1).title).toBe('t');
    // A store that keeps it past its expiry (a slow sweep) still reads as not live: the expiry is sealed inside.
    expect(await fetchDescriptor(invite, store, expiresAt)).toBeUndefined();
    await publish({ store, title: 't' }, invite, mod, [], false); // leaving: expires_at = now
    expect(await isRoomLive(invite, store)).toBe(false);
    now += 61_000; // the store dropped it
    expect(await fetchDescriptor(invite, store)).toBeUndefined();
  });

  it('after a transfer the successor can write and the former moderator cannot lock it out', async () => {
    const { store, puts } = recording(memoryDescriptorStore());
    const { invite, mod, idBytes } = room();
    const successor = ed25519KeyPair();
    await publish({ store, title: 'by the creator' }, invite, mod);
    const chain = extendChain([], idBytes, mod.privateKey, successor.publicKey, 7, 2);
    await publish({ store, title: 'by the successor' }, invite, successor, chain);
    const d = await fetchDescriptor(invite, store);
    expect(d).toMatchObject({ title: 'by the successor', live: true });
    expect(d!.moderatorKey).toEqual(successor.publicKey); // certified by the chain from the invite's pin
    // The former moderator: with the chain, without it, or replaying its own recorded put.
    expect(await code(publish({ store, title: 'former' }, invite, mod))).toBe('E_AUTH_FAILED');
    expect(await code(publish({ store, title: 'former' }, invite, mod, chain))).toBe('E_AUTH_FAILED');
    const [recorded] = puts();
    expect(await code(store.put(recorded!.id, recorded!.value!, recorded!.opts!))).toBe('E_AUTH_FAILED');
    expect((await fetchDescriptor(invite, store))?.title).toBe('by the successor');
    await publish({ store, title: 'still the successor' }, invite, successor, chain);
    expect((await fetchDescriptor(invite, store))?.title).toBe('still the successor');
    // An invite issued by the successor pins it at chain index 1.
    const later: Invite = { ...invite, moderatorKey: successor.publicKey, chainIndex: 1 };
    expect((await fetchDescriptor(later, store))?.moderatorKey).toEqual(successor.publicKey);
  });

  it('a successor whose clock is behind its predecessor continues after the stored serial', async () => {
    const store = memoryDescriptorStore();
    const { invite, mod, idBytes, id } = room();
    const successor = ed25519KeyPair();
    // The predecessor's clock ran 10 minutes ahead.
    const ahead = Date.now() + 600_000;
    const sealed = sealDescriptor({ invite, title: 'ahead', moderatorKey: mod.publicKey, chain: [], expiresAt: Date.now() + 60_000, serial: ahead, signingSecret: mod.privateKey });
    await store.put(id, sealed.sealed, { ttlMs: 60_000, proof: signWriteProof(mod.privateKey, mod.publicKey, idBytes, ahead, 60_000, sealed.sealed, []) });
    const chain = extendChain([], idBytes, mod.privateKey, successor.publicKey, 3, 1);
    await publish({ store, title: 'successor' }, invite, successor, chain);
    const d = await fetchDescriptor(invite, store);
    expect(d).toMatchObject({ title: 'successor', serial: ahead + 1 });
  });

  it('forged, swapped, tampered and unpinned descriptors are refused', async () => {
    const a = room();
    const b = room();
    const other = ed25519KeyPair();
    const seal = (invite: Invite, key: Uint8Array, secret: Uint8Array, chain: ChainLink[] = []) =>
      sealDescriptor({ invite, title: 'x', moderatorKey: key, chain, expiresAt: Date.now() + 1000, serial: 1, signingSecret: secret }).sealed;
    expect(() => openDescriptor(a.invite, seal(a.invite, other.publicKey, other.privateKey))).toThrow(/E_AUTH_FAILED/); // not the pinned key
    expect(() => openDescriptor(a.invite, seal(a.invite, a.mod.publicKey, other.privateKey))).toThrow(/E_AUTH_FAILED/); // wrong signer
    expect(() => openDescriptor(a.invite, seal(b.invite, b.mod.publicKey, b.mod.privateKey))).toThrow(/E_AUTH_FAILED/); // b's, under a's invite
    // A chain link made for another room (b's descriptor id) does not certify a successor in a.
    const wrongRoom = extendChain([], b.idBytes, a.mod.privateKey, other.publicKey, 2, 1);
    expect(() => openDescriptor(a.invite, seal(a.invite, other.publicKey, other.privateKey, wrongRoom))).toThrow(/E_AUTH_FAILED/);
    const right = extendChain([], a.idBytes, a.mod.privateKey, other.publicKey, 2, 1);
    expect(openDescriptor(a.invite, seal(a.invite, other.publicKey, other.privateKey, right)).moderatorKey).toEqual(other.publicKey);
    // An invite pinning the successor at index 1 does not accept the creator any more.
    expect(() => openDescriptor({ ...a.invite, moderatorKey: other.publicKey, chainIndex: 1 }, seal(a.invite, a.mod.publicKey, a.mod.privateKey, right))).toThrow(/E_AUTH_FAILED/);
    expect(() => openDescriptor(a.invite, new Uint8Array(10))).toThrow(/E_FRAME_MALFORMED/);
    const sealed = seal(a.invite, a.mod.publicKey, a.mod.privateKey);
    sealed[30]! ^= 1;
    expect(() => openDescriptor(a.invite, sealed)).toThrow(/E_AUTH_FAILED/);
  });

  it('works over a real relay: only the moderator writes, the successor takes over, old bearer puts are refused', async () => {
    const relay = createRelay({ host: '127.0.0.1', port: 0 });
    const { port } = await relay.listen();
    try {
      const url = `http://127.0.0.1:${port}`;
      const store = relayDescriptorStore({ url });
      const { invite, mod, idBytes, id } = room();
      await publish({ store, title: 'over the relay', ttlMs: 5_000 }, invite, mod);
      expect(relay.metrics().descriptors).toBe(1);
      expect(await fetchDescriptor(invite, store)).toMatchObject({ title: 'over the relay', live: true, passwordRequired: false });
      expect(await code(publish({ store, title: 'member' }, invite, ed25519KeyPair()))).toBe('E_AUTH_FAILED');
      const successor = ed25519KeyPair();
      const chain = extendChain([], idBytes, mod.privateKey, successor.publicKey, 4, 2);
      await publish({ store, title: 'successor' }, invite, successor, chain);
      expect(await code(publish({ store, title: 'former' }, invite, mod))).toBe('E_AUTH_FAILED');
      expect((await fetchDescriptor(invite, store))?.title).toBe('successor');
      const bearer = await fetch(`${url}/descriptors/${id}?ttl=1000`, { method: 'PUT', body: new Uint8Array(8), headers: { authorization: `Bearer ${'A'.repeat(43)}` } });
      expect(bearer.status).toBe(400);
      expect(await bearer.text()).toMatch(/Sealsig/);
    } finally {
      await relay.close();
    }
  });
});

function descriptorKeysId(invite: Invite): string {
  const k = descriptorKeys(invite.sessionId);
  k.key.fill(0);
  return Buffer.from(k.id).toString('base64url');
}

// Keep the import used when the file is type-checked alone.
void isSealsigError;
