/** Properties of commits as changes (docs/PROTOCOL.md §R5.2): what the moderator commits, a member rebuilds. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SealsigError, decodeCanonical, encodeCanonical, ready } from '@sealsig/core';
import { applyChange, changeOf, type Edit } from '../src/commits.js';
import { Tag, encodeState, fromWire, toWire, type RoomState } from '../src/wire.js';

await ready();

const key = fc.integer({ min: 1, max: 40 }).map((i) => new Uint8Array(32).fill(i));
const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), key, name: fc.string({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant('remove' as const), key }),
  fc.record({ kind: fc.constant('kick' as const), key, reason: fc.string({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant('ice' as const), host: fc.stringMatching(/^[a-z]{1,12}$/) }),
  fc.record({ kind: fc.constant('rotate' as const) }),
);
const start = (): RoomState => ({ version: 1, epoch: 1, roomKey: new Uint8Array(32).fill(200), moderator: new Uint8Array(32).fill(99), members: [{ key: new Uint8Array(32).fill(99), name: 'mod' }], iceServers: [], chain: [], banned: [], revoked: [] });
const listed = (s: RoomState, k: Uint8Array) => s.members.some((m) => m.key[0] === k[0]);

/** The moderator's edit for an op, or undefined when the op makes no sense on this state. */
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function editOf(s: RoomState, o: Op): Edit | undefined {
  switch (o.kind) {
    case 'add':
      return listed(s, o.key) ? undefined : { add: [{ key: o.key, name: o.name }] };
    case 'remove':
      return listed(s, o.key) && o.key[0] !== 99 ? { remove: [o.key] } : undefined;
    case 'kick':
      return o.key[0] === 99 ? undefined : { remove: listed(s, o.key) ? [o.key] : [], ban: [{ key: o.key, reason: o.reason }], roomKey: new Uint8Array(32).fill(s.epoch % 256) };
    case 'ice':
      return { iceServers: [{ urls: `stun:${o.host}.example` }] };
    case 'rotate':
      return { roomKey: new Uint8Array(32).fill((s.epoch + 7) % 256) };
  }
}
const bytesOf = (s: RoomState) => encodeCanonical(encodeState(s));

describe('state changes', () => {
  it('a member applying the wire form of each change holds exactly the moderator state, version by version', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let mod = start();
        let member = start();
        for (const o of ops) {
          const edit = editOf(mod, o);
          if (edit === undefined) continue;
          const change = changeOf(mod, edit);
          mod = applyChange(mod, change);
          const m = fromWire(decodeCanonical(encodeCanonical(toWire({ tag: Tag.change, change }))));
          if (m.tag !== Tag.change) throw new Error('not a change');
          member = applyChange(member, m.change);
          expect(bytesOf(member)).toEqual(bytesOf(mod));
          expect(member.version).toBe(mod.version);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a change applies only on top of the version it follows; anything else is E_FRAME_MALFORMED', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 2, maxLength: 12 }), fc.integer({ min: -3, max: 3 }), (ops, skew) => {
        let s = start();
        const history: RoomState[] = [s];
        for (const o of ops) {
          const e = editOf(s, o);
          if (e === undefined) continue;
          s = applyChange(s, changeOf(s, e));
          history.push(s);
        }
        const last = history[history.length - 1]!;
        const change = changeOf(last, { iceServers: [] });
        const base = history[history.length - 1 + skew];
        if (base === undefined || skew === 0) return;
        expect(() => applyChange(base, change)).toThrow(SealsigError);
      }),
      { numRuns: 200 },
    );
  });
});
