/**
 * Properties of signed invites and revocations (docs/PROTOCOL.md §R2, §R3, §R5.1): a grant the moderator
 * admits is exactly one signed by a key of its chain at its position, unexpired and not revoked; any edit of a
 * signed field is refused; the revoked list never drops an unexpired entry and stays bounded.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SealsigError, ed25519KeyPair, ready } from '@sealsig/core';
import { extendChain } from '../src/chain.js';
import { MAX_CHAIN_INDEX, MAX_EXPIRES_S, encodeInvite, parseInvite } from '../src/invite.js';
import { checkGrant, grantOf, issueInvite } from '../src/invite-grant.js';
import { descriptorIdOf } from '../src/labels.js';
import { withRevoked } from '../src/revocations.js';
import { MAX_REVOKED, type ChainLink, type RevokedInvite } from '../src/wire.js';
import { createSessionId } from '@sealsig/core';

await ready();

// A room whose chain runs through three moderators: keys[0] created it, keys[2] moderates now.
const keys = [ed25519KeyPair(), ed25519KeyPair(), ed25519KeyPair()];
const outsider = ed25519KeyPair();
const sessionId = createSessionId();
const descriptorId = descriptorIdOf(sessionId);
let chain: ChainLink[] = [];
chain = extendChain(chain, descriptorId, keys[0]!.privateKey, keys[1]!.publicKey, 3, 1);
chain = extendChain(chain, descriptorId, keys[1]!.privateKey, keys[2]!.publicKey, 7, 2);
const NOW = 1_795_478_400_000;

describe('invite grants (§R2, §R3)', () => {
  it('property: admitted iff signed by the chain key at its position (own only with "self"), unexpired, not revoked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }), // signer: keys[0..2] or the outsider
        fc.integer({ min: 0, max: 4 }), // claimed position
        fc.integer({ min: -5_000, max: 5_000 }), // ttl around now, ms
        fc.boolean(), // revoked
        fc.constantFrom('chain' as const, 'self' as const),
        (who, index, ttl, revoke, signers) => {
          const signer = who === 3 ? outsider : keys[who]!;
          const invite = issueInvite(sessionId, signer.publicKey, index, false, signer.privateKey, ttl, NOW);
          const revoked: RevokedInvite[] = revoke ? [{ id: invite.id, expiresAt: invite.expiresAt }] : [];
          const r = checkGrant(grantOf(invite), { descriptorId, moderator: keys[2]!.publicKey, chain, revoked, signers, now: NOW });
          const rightKey = who !== 3 && who === index && (signers === 'chain' || index === 2);
          const expected = !rightKey ? 'invite-invalid' : invite.expiresAt <= NOW ? 'invite-expired' : revoke ? 'invite-revoked' : undefined;
          expect(r?.code).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: editing any signed field of a valid invite (and re-encoding it) is refused invite-invalid', () => {
    const invite = issueInvite(sessionId, keys[2]!.publicKey, 2, true, keys[2]!.privateKey, 86_400_000, NOW);
    const ctx = { descriptorId, moderator: keys[2]!.publicKey, chain, revoked: [], now: NOW };
    expect(checkGrant(grantOf(invite), ctx)).toBeUndefined();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1, max: 10 ** 6 }).map((d) => ({ ...invite, expiresAt: invite.expiresAt + d * 1000 })),
          fc.uint8Array({ minLength: 8, maxLength: 8 }).filter((id) => id.some((b, i) => b !== invite.id[i])).map((id) => ({ ...invite, id })),
          fc.constant({ ...invite, passwordRequired: false }),
        ),
        (edited) => {
          const text = encodeInvite(edited); // re-encoded: a well-formed invite with the old signature
          expect(checkGrant(grantOf(parseInvite(text)), ctx)?.code).toBe('invite-invalid');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the longest invite there is fits in 200 characters', () => {
    const longest = issueInvite(sessionId, keys[0]!.publicKey, MAX_CHAIN_INDEX, true, keys[0]!.privateKey, MAX_EXPIRES_S * 1000 - NOW, NOW);
    expect(longest.expiresAt).toBe(MAX_EXPIRES_S * 1000);
    expect(encodeInvite(longest).length).toBe(188);
  });
});

describe('revoked list (§R5.1)', () => {
  it('property: never drops an unexpired entry, never holds more than 64, drops what has expired', () => {
    const entry = fc.record({ id: fc.uint8Array({ minLength: 8, maxLength: 8 }), expiresAt: fc.integer({ min: 0, max: 200 }).map((s) => s * 1000) });
    fc.assert(
      fc.property(fc.array(fc.tuple(entry, fc.integer({ min: 0, max: 5_000 })), { maxLength: 150 }), (ops) => {
        let list: RevokedInvite[] = [];
        let now = 0;
        for (const [e, advance] of ops) {
          now += advance;
          let next: RevokedInvite[] | undefined;
          try {
            next = withRevoked(list, e, now);
          } catch (err) {
            expect((err as SealsigError).code).toBe('E_QUEUE_FULL');
            expect(list.filter((r) => r.expiresAt > now).length).toBe(MAX_REVOKED);
            continue;
          }
          if (next === undefined) {
            expect(e.expiresAt <= now || list.some((r) => r.id.every((b, i) => b === e.id[i]))).toBe(true);
            continue;
          }
          for (const r of list) if (r.expiresAt > now) expect(next).toContainEqual(r); // unexpired entries stay
          expect(next.every((r) => r.expiresAt > now)).toBe(true);
          expect(next.length).toBeLessThanOrEqual(MAX_REVOKED);
          list = next;
        }
      }),
    );
  });
});
