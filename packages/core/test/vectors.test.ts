/**
 * docs/test-vectors: regenerated and compared byte for byte (code and spec cannot drift apart), then run
 * through the stack: broadcast and negative vectors through a real Session on an injected transport, the
 * pairwise vectors through the frame layer on both sides.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toBase64Url, toHex } from '../src/bytes.js';
import {
  ChannelKeys,
  createMemoryNetwork,
  decodeFrame,
  deriveEpochKeys,
  deriveSession,
  joinSession,
  memberIdOf,
  newHandshake,
  readHandshakeFrame,
  writeHandshakeFrame,
  type SealsigError,
} from '../src/index.js';
import { ed25519KeyPair, ready, x25519KeyPair } from '../src/sodium.js';
import { FIXED, generateVectors } from '../scripts/vectors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (name: string): Json => JSON.parse(readFileSync(new URL(`../../../docs/test-vectors/${name}.json`, import.meta.url), 'utf8'));

beforeAll(ready);

describe('docs/test-vectors', () => {
  it('are exactly what the code generates', () => {
    for (const [name, content] of Object.entries(generateVectors())) {
      expect(load(name), `${name}.json is stale: run pnpm vectors`).toEqual(JSON.parse(JSON.stringify(content)));
    }
  });

  it('key schedule', () => {
    const v = load('key-schedule');
    const s = deriveSession(v.session_id);
    expect(toHex(s.routeTag)).toBe(v.route_tag);
    expect(s.topic).toBe(v.topic);
    expect(toHex(s.memberIdKey)).toBe(v.member_id_key);
    expect(toHex(s.roomKey0)).toBe(v.room_key_epoch0);
    const e0 = deriveEpochKeys(0, s.roomKey0);
    expect([toHex(e0.broadcastKey), toHex(e0.psk)]).toEqual([v.broadcast_key_epoch0, v.noise_psk_epoch0]);
    const e1 = deriveEpochKeys(1, fromHex(v.room_key_epoch1));
    expect([toHex(e1.broadcastKey), toHex(e1.psk)]).toEqual([v.broadcast_key_epoch1, v.noise_psk_epoch1]);
    for (const m of v.members) {
      const kp = ed25519KeyPair(fromHex(m.ed25519_seed));
      expect(toHex(kp.publicKey)).toBe(m.ed25519_public);
      expect(toHex(memberIdOf(s.memberIdKey, kp.publicKey))).toBe(m.member_id);
      expect(toHex(x25519KeyPair(fromHex(m.x25519_private)).publicKey)).toBe(m.x25519_public);
    }
  });

  it('broadcast frames open in a real session', async () => {
    const v = load('broadcast');
    const net = createMemoryNetwork();
    const bob = await joinSession({ sessionId: v.session_id, transport: net.connect(), now: () => v.now });
    const joined = new Promise<{ id: string }>((r) => bob.once('peer-joined', r));
    const message = new Promise<{ value: unknown; broadcast: boolean }>((r) => bob.once('message', r));
    for (const m of v.messages) net.inject(bob.topic, fromHex(m.frame));
    const ks = load('key-schedule');
    expect((await joined).id).toBe(toBase64Url(fromHex(ks.members[0].member_id)));
    expect(await message).toMatchObject({ value: v.expected_app_value, broadcast: true });
    expect(bob.stats.dropped).toEqual({});
    await bob.close();
  });

  it('pairwise handshake and transport frames, byte for byte on both sides', () => {
    const v = load('pairwise');
    const psk = fromHex(v.psk);
    const prologue = fromHex(v.prologue);
    const alice = x25519KeyPair(fromHex(v.alice.x25519_private));
    const bob = x25519KeyPair(fromHex(v.bob.x25519_private));
    const init = decodeFrame(fromHex(v.handshake[0].frame));
    const resp = decodeFrame(fromHex(v.handshake[1].frame));
    // Bob, the responder, recomputes his response from alice's init.
    const r = newHandshake({ initiator: false, prologue, s: bob, rs: alice.publicKey, psk, e: x25519KeyPair(fromHex(v.bob.ephemeral_private)) });
    readHandshakeFrame(r, init);
    const out = writeHandshakeFrame(r, resp.header);
    expect(toHex(out.frame)).toBe(v.handshake[1].frame);
    // Alice, the initiator, recomputes her init and reads bob's response.
    const i = newHandshake({ initiator: true, prologue, s: alice, rs: bob.publicKey, psk, e: x25519KeyPair(fromHex(v.alice.ephemeral_private)) });
    expect(toHex(writeHandshakeFrame(i, init.header).frame)).toBe(v.handshake[0].frame);
    const split = readHandshakeFrame(i, resp).split!;
    expect(toHex(i.handshakeHash)).toBe(v.handshake_hash);
    const keys = { alice: new ChannelKeys(split[0], split[1]), bob: new ChannelKeys(out.split![1], out.split![0]) };
    for (const t of v.transport) {
      const frame = fromHex(t.frame);
      const d = decodeFrame(frame);
      const sender = keys[t.from as 'alice' | 'bob'];
      const receiver = keys[t.from === 'alice' ? 'bob' : 'alice'];
      expect(toHex(sender.seal(d.header, t.type, t.payload))).toBe(t.frame);
      expect(receiver.open(d)).toEqual({ type: t.type, payload: t.payload });
      expect(() => receiver.open(d)).toThrow(/E_REPLAY/);
    }
  });

  it('negative cases give the documented error, and the session carries on', async () => {
    const v = load('negative');
    expect(v.max_age_ms).toBe(FIXED.maxAgeMs);
    const net = createMemoryNetwork();
    const bob = await joinSession({
      sessionId: v.session_id,
      transport: net.connect(),
      now: () => v.now,
      maxAgeMs: v.max_age_ms,
      maxFutureSkewMs: v.max_future_skew_ms,
      maxFrameBytes: v.max_frame_bytes,
    });
    const outcomes: string[] = [];
    bob.on('error', (e: SealsigError) => outcomes.push(e.code));
    bob.on('peer-joined', () => outcomes.push('accept'));
    bob.on('message', () => outcomes.push('accept'));
    for (const step of v.steps) {
      const before = { outcomes: outcomes.length, duplicates: bob.stats.duplicates };
      net.inject(bob.topic, step.zeros ? new Uint8Array(step.zeros) : fromHex(step.frame));
      await new Promise((r) => setTimeout(r, 0));
      const got = bob.stats.duplicates > before.duplicates ? 'E_REPLAY' : outcomes.slice(before.outcomes).join(',');
      expect(got, step.name).toBe(step.expect);
    }
    await bob.close();
  });
});
