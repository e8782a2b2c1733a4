/** Sealed room descriptors and the presence check (docs/PROTOCOL.md §R7), on the memory store and a real relay. */
import { describe, expect, it } from 'vitest';
import { ready } from '@sealsig/core';
import { createRelay } from '@sealsig/relay';
import {
  createRoom,
  fetchDescriptor,
  isRoomLive,
  joinRoom,
  memoryDescriptorStore,
  openDescriptor,
  parseInvite,
  relayDescriptorStore,
  sealDescriptor,
  type DescriptorStore,
} from '../src/index.js';
import { fast, net, waitFor } from './helpers.js';

await ready();

/** A store that records everything it is given, as a curious operator would. */
function recording(inner: DescriptorStore) {
  const seen: { id: string; value?: Uint8Array }[] = [];
  const store: DescriptorStore = {
    put: (id, value, o) => (seen.push({ id, value: value.slice() }), inner.put(id, value, o)),
    get: (id) => (seen.push({ id }), inner.get(id)),
  };
  return { store, seen };
}

describe('sealed descriptors', () => {
  it('the moderator publishes; a would-be joiner reads title and settings; the store sees only ciphertext', async () => {
    const { store, seen } = recording(memoryDescriptorStore());
    const n = net();
    const mod = await createRoom({ transport: n.connect(), password: 'pw', descriptor: { store, title: 'Standup 10:00', ttlMs: 2_000 }, session: fast });
    const invite = parseInvite(mod.invite);
    await waitFor(() => seen.length > 0);
    const d = await fetchDescriptor(invite, store);
    expect(d).toMatchObject({ title: 'Standup 10:00', passwordRequired: true, live: true });
    expect(d!.moderatorKey).toEqual(mod.key);
    const sid = Buffer.from(invite.sessionId);
    for (const s of seen) {
      expect(s.id).not.toContain(invite.sessionId);
      expect(s.id).not.toBe(mod.session.topic);
      if (s.value) {
        expect(Buffer.from(s.value).includes(Buffer.from('Standup'))).toBe(false);
        expect(Buffer.from(s.value).includes(sid)).toBe(false);
      }
    }
    expect(await isRoomLive(invite, store)).toBe(true);
    await mod.close();
  });

  it('the presence check says not live once the moderator stops refreshing', async () => {
    let now = Date.now();
    const store = memoryDescriptorStore({ now: () => now });
    const n = net();
    const mod = await createRoom({ transport: n.connect(), descriptor: { store, title: 't', ttlMs: 60_000 }, session: fast });
    const invite = parseInvite(mod.invite);
    await new Promise((r) => setTimeout(r, 20));
    expect((await fetchDescriptor(invite, store))?.live).toBe(true);
    await mod.close();
    expect(await isRoomLive(invite, store)).toBe(false); // the moderator said so when it left
    // A store that keeps it past its expiry (a slow sweep) still reads as not live: the expiry is sealed inside.
    expect((await fetchDescriptor(invite, store, Date.now() + 61_000))?.live).toBe(false);
    now += 61_000; // the store dropped it
    expect(await fetchDescriptor(invite, store)).toBeUndefined();
    expect(await isRoomLive(invite, store)).toBe(false);
  });

  it('forged, swapped and tampered descriptors are refused', async () => {
    const n = net();
    const a = await createRoom({ transport: n.connect(), session: fast });
    const b = await createRoom({ transport: n.connect(), session: fast });
    const ia = parseInvite(a.invite);
    const ib = parseInvite(b.invite);
    const { signing } = { signing: (await import('@sealsig/core')).ed25519KeyPair() };
    // Sealed for a's invite but signed by someone else.
    const forged = sealDescriptor({ invite: ia, title: 'x', moderatorKey: signing.publicKey, chain: [], expiresAt: Date.now() + 1000, signingSecret: signing.privateKey });
    expect(() => openDescriptor(ia, forged.sealed)).toThrow(/E_AUTH_FAILED/);
    // Claims a's moderator key but signed by another key.
    const wrongSigner = sealDescriptor({ invite: ia, title: 'x', moderatorKey: ia.moderatorKey, chain: [], expiresAt: Date.now() + 1000, signingSecret: signing.privateKey });
    expect(() => openDescriptor(ia, wrongSigner.sealed)).toThrow(/E_AUTH_FAILED/);
    // b's genuine descriptor under a's invite: another key, another id.
    const own = sealDescriptor({ invite: ib, title: 'b', moderatorKey: signing.publicKey, chain: [], expiresAt: 1, signingSecret: signing.privateKey });
    expect(() => openDescriptor(ia, own.sealed)).toThrow(/E_AUTH_FAILED/);
    expect(() => openDescriptor(ia, new Uint8Array(10))).toThrow(/E_FRAME_MALFORMED/);
    await a.close();
    await b.close();
  });

  it('works over a real relay: /descriptors holds ciphertext with a TTL', async () => {
    const relay = createRelay({ host: '127.0.0.1', port: 0 });
    const { port } = await relay.listen();
    try {
      const store = relayDescriptorStore({ url: `http://127.0.0.1:${port}` });
      const n = net();
      const mod = await createRoom({ transport: n.connect(), moderation: { admit: 'auto' }, descriptor: { store, title: 'over the relay', ttlMs: 5_000 }, session: fast });
      const invite = parseInvite(mod.invite);
      await waitFor(() => relay.metrics().descriptors === 1);
      expect(await fetchDescriptor(invite, store)).toMatchObject({ title: 'over the relay', live: true, passwordRequired: false });
      // A member that joins can read it too.
      const bob = await joinRoom({ transport: n.connect(), invite, session: fast });
      expect((await fetchDescriptor(invite, store))?.title).toBe('over the relay');
      await bob.close();
      await mod.close();
    } finally {
      await relay.close();
    }
  });
});
