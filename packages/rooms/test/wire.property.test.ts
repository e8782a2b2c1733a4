/** Properties of the rooms messages (docs/PROTOCOL.md §R1) and of the member-side rules (§R5). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode } from '@msgpack/msgpack';
import { SealsigError, ready, toBase64Url } from '@sealsig/core';
import { createRoom, fromWire, joinRoom, parseInvite, toWire, RoomMessageTag as Tag, type RoomState } from '../src/index.js';
import { fast, net, waitFor } from './helpers.js';

await ready();

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const state: fc.Arbitrary<RoomState> = fc.record({
  version: fc.nat(),
  epoch: fc.nat({ max: 0xffffffff }),
  roomKey: bytes(32),
  moderator: bytes(32),
  members: fc.array(fc.record({ key: bytes(32), name: fc.string({ maxLength: 64 }) }), { minLength: 1, maxLength: 5 }),
  iceServers: fc.array(fc.record({ urls: fc.constantFrom('stun:a.example', 'turn:b.example:3478'), username: fc.string({ maxLength: 20 }), credential: fc.string({ maxLength: 20 }) }), { maxLength: 3 }),
  chain: fc.array(fc.record({ key: bytes(32), version: fc.nat(), epoch: fc.nat({ max: 0xffffffff }), signature: bytes(64) }), { maxLength: 3 }),
  banned: fc.array(fc.record({ key: bytes(32), reason: fc.string({ maxLength: 200 }) }), { maxLength: 3 }),
  revoked: fc.array(fc.record({ id: bytes(8), expiresAt: fc.nat({ max: 9_007_199_254_740 }).map((s) => s * 1000) }), { maxLength: 3 }),
});

describe('rooms messages', () => {
  it('arbitrary values decode to a message or fail with E_FRAME_MALFORMED, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.array(fc.anything(), { maxLength: 7 }), fc.tuple(fc.integer({ min: 0, max: 15 }), fc.anything(), fc.anything(), fc.anything())), (v) => {
        try {
          fromWire(v);
        } catch (e) {
          expect(e).toBeInstanceOf(SealsigError);
          expect((e as SealsigError).code).toBe('E_FRAME_MALFORMED');
        }
      }),
      { numRuns: 5_000 },
    );
    // Found by this property: a tag like { toString: null } must not make the error message itself throw.
    expect(() => fromWire([{ toString: null }])).toThrow(/E_FRAME_MALFORMED/);
  });

  it('app data nested beyond the content depth bound (core §5.1) is E_FRAME_MALFORMED, not an untyped error', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = [deep];
    const request = [Tag.joinRequest, new Uint8Array(16), 'joiner', deep, null, null];
    let thrown: unknown;
    try {
      fromWire(request);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SealsigError);
    expect((thrown as SealsigError).code).toBe('E_FRAME_MALFORMED');
    // Values with no canonical encoding at all (a lone surrogate) are refused the same way.
    expect(() => fromWire([Tag.joinRequest, new Uint8Array(16), 'joiner', '\ud800', null, null])).toThrow(/E_FRAME_MALFORMED/);
  });

  it('arbitrary invites parse or fail with a SealsigError, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything().map((v) => toBase64Url(encode(v, { ignoreUndefined: true })))), (text) => {
        try {
          parseInvite(text);
        } catch (e) {
          expect(e).toBeInstanceOf(SealsigError);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('state and join messages round-trip through msgpack', () => {
    fc.assert(
      fc.property(state, bytes(16), fc.string({ maxLength: 30 }), (s, nonce, id) => {
        for (const m of [
          { tag: Tag.state, state: s },
          { tag: Tag.joinAccepted, nonce, roomSessionId: id, state: s },
        ] as const) {
          const back = fromWire(decode(encode(toWire(m))));
          expect(back).toEqual(m);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('only the moderator changes the room', () => {
  it('for any sequence of states and kicks forged by a member, the others never change epoch, roster or moderator', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: fast });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast });
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast });
    await waitFor(() => bob.members.length === 2 && carol.members.length === 2);
    const carolAtBob = bob.members.find((m) => m.name === 'carol')!.id;
    const denied: string[] = [];
    carol.on('error', (e) => denied.push(e.code));
    const before = { epoch: carol.epoch, roster: carol.roster, moderator: carol.moderatorKey };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(state.map((s) => ({ tag: Tag.state, state: s }) as const), fc.string({ maxLength: 10 }).map((reason) => ({ tag: Tag.kicked, reason }) as const)), { minLength: 1, maxLength: 4 }),
          async (forged) => {
            const start = denied.length;
            for (const m of forged) {
              // bob claims the moderator's key in the state, or names itself: neither may count.
              await bob.session.send(carolAtBob, toWire(m));
            }
            await waitFor(() => denied.length >= start + forged.length);
            expect(carol.closed).toBe(false);
            expect(carol.epoch).toBe(before.epoch);
            expect(carol.roster).toEqual(before.roster);
            expect(carol.moderatorKey).toEqual(before.moderator);
          },
        ),
        { numRuns: 25 },
      );
      expect(new Set(denied)).toEqual(new Set(['E_ACCESS_DENIED']));
    } finally {
      for (const r of [bob, carol, mod]) await r.close();
    }
  });
});
