/**
 * Signed invites, enforced expiry and revocation (docs/PROTOCOL.md §R2, §R3, §R5.1, §R5.2): the moderator
 * checks the grant a join request carries before anything else (no password run, no question to the app), a
 * revocation is a commit every later moderator inherits, and a v2 invite is refused before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { SealsigError, ed25519KeyPair, equalBytes, ready, x25519KeyPair } from '@sealsig/core';
import { encode } from '@msgpack/msgpack';
import { createRoom, encodeInvite, joinRoom, parseInvite, type Invite, type Room } from '../src/index.js';
import { admitThroughLobby } from '../src/join.js';
import { fast, net, waitFor } from './helpers.js';

await ready();

async function failure(p: Promise<unknown>): Promise<SealsigError & { rejectCode?: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SealsigError);
  return e as SealsigError & { rejectCode?: string };
}

/** Asks `mod`'s lobby for admission with `invite` as given, skipping the joiner's own checks (a hostile or clock-skewed joiner). */
function rawJoin(n: ReturnType<typeof net>, invite: Invite, password?: string) {
  const identity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
  return admitThroughLobby({ ...fast, sessionId: invite.sessionId, transport: n.connect(), identity }, invite, {
    name: 'raw',
    appData: null,
    password,
    timeoutMs: 10_000,
    retryMs: 200,
    ownKey: identity.signing.publicKey,
    pin: { key: invite.moderatorKey, index: invite.chainIndex },
    after: -1,
  });
}

/** A moderator that admits every request it is asked about, counting them. */
async function moderated(n: ReturnType<typeof net>, options: Parameters<typeof createRoom>[0] | object = {}): Promise<{ mod: Room; asked: string[] }> {
  const mod = await createRoom({ transport: n.connect(), name: 'mod', session: fast, ...options });
  const asked: string[] = [];
  mod.on('join-request', (r) => {
    asked.push(r.name);
    r.accept();
  });
  return { mod, asked };
}

describe('signed invites (§R2, §R3)', () => {
  it('an invite is signed, at most 200 characters, and names its id; each createInvite is a new id', async () => {
    const n = net();
    const { mod } = await moderated(n);
    const a = parseInvite(mod.invite);
    const b = parseInvite(mod.createInvite(60_000));
    expect(a.id.length).toBe(8);
    expect(equalBytes(a.id, b.id)).toBe(false);
    expect(b.expiresAt % 1000).toBe(0);
    expect(mod.invite.length).toBeLessThanOrEqual(200);
    expect(parseInvite(mod.invite).id).toEqual(a.id); // the current invite stays until it expires or is revoked
    await mod.close();
  });

  it('an edited invite (a later expiry, re-encoded) is refused by the joiner before anything is sent, and by the moderator before anything else', async () => {
    const n = net();
    const { mod, asked } = await moderated(n, { password: 'pw' });
    const genuine = parseInvite(mod.createInvite(60_000));
    const edited: Invite = { ...genuine, expiresAt: genuine.expiresAt + 365 * 86_400_000 };
    const before = n.log.length;
    const local = await failure(joinRoom({ transport: n.connect(), invite: encodeInvite(edited), password: 'pw', session: fast }));
    expect(local.code).toBe('E_AUTH_FAILED');
    expect(n.log.length).toBe(before); // nothing sent
    const remote = await failure(rawJoin(n, edited, 'pw'));
    expect([remote.code, remote.rejectCode]).toEqual(['E_AUTH_FAILED', 'invite-invalid']);
    expect(asked).toEqual([]); // the app was never asked, and no password run was counted
    await mod.close();
  });

  it('an expired invite is refused by the moderator (invite-expired, E_STALE) even when the joiner does not check', async () => {
    const n = net();
    const { mod, asked } = await moderated(n);
    const invite = parseInvite(mod.createInvite(1_000));
    await new Promise((r) => setTimeout(r, invite.expiresAt - Date.now() + 10));
    expect((await failure(joinRoom({ transport: n.connect(), invite, session: fast }))).code).toBe('E_STALE'); // the joiner's own check
    const e = await failure(rawJoin(n, invite));
    expect([e.code, e.rejectCode]).toEqual(['E_STALE', 'invite-expired']);
    expect(asked).toEqual([]);
    await mod.close();
  });

  it('a v2 invite is E_VERSION, before anything is sent', async () => {
    const n = net();
    const { mod } = await moderated(n);
    const i = parseInvite(mod.invite);
    const v2 = Buffer.from(encode([2, Buffer.from(i.sessionId, 'base64url'), i.moderatorKey, 0, 0, i.expiresAt / 1000])).toString('base64url');
    const before = n.log.length;
    expect((await failure(joinRoom({ transport: n.connect(), invite: v2, session: fast }))).code).toBe('E_VERSION');
    expect(n.log.length).toBe(before);
    await mod.close();
  });
});

describe('revocation (§R5.1)', () => {
  it('a revoked invite is refused (invite-revoked) without asking the app; other invites still work; room.invite is replaced', async () => {
    const n = net();
    const { mod, asked } = await moderated(n);
    const shared = mod.invite;
    const other = mod.createInvite();
    expect(mod.revokeInvite(shared)).toBe(true);
    expect(mod.revokeInvite(shared)).toBe(false); // already revoked: no second commit
    expect(mod.invite).not.toBe(shared);
    const e = await failure(joinRoom({ transport: n.connect(), invite: shared, name: 'late', session: fast }));
    expect([e.code, e.rejectCode]).toEqual(['E_ACCESS_DENIED', 'invite-revoked']);
    expect(asked).toEqual([]);
    const bob = await joinRoom({ transport: n.connect(), invite: other, name: 'bob', session: fast });
    expect(asked).toEqual(['bob']);
    await bob.close();
    await mod.close();
  });

  it('revocations are in the state: the successor after a handover refuses the same invite, and a member holds the list', async () => {
    const n = net();
    const { mod } = await moderated(n);
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast, moderation: { admit: 'auto' } });
    await waitFor(() => mod.members.length === 1 && bob.members.length === 1);
    const leaked = mod.createInvite();
    mod.revokeInvite(leaked);
    const kept = mod.createInvite(); // signed by the former moderator: still valid under the successor ('chain')
    // The transfer's version follows the revocation's: bob moderates only with a state that lists it.
    await mod.transferModeration(bob.id);
    await waitFor(() => bob.isModerator, 5_000);
    const e = await failure(joinRoom({ transport: n.connect(), invite: leaked, session: fast }));
    expect(e.rejectCode).toBe('invite-revoked');
    const carol = await joinRoom({ transport: n.connect(), invite: kept, name: 'carol', session: fast });
    await waitFor(() => carol.members.length === 2);
    await carol.close();
    await bob.close();
    await mod.close();
  });

  it('inviteSigners "self": the successor refuses its predecessor\'s invites (invite-invalid) and takes its own', async () => {
    const n = net();
    const { mod } = await moderated(n);
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast, moderation: { admit: 'auto', inviteSigners: 'self' } });
    await waitFor(() => mod.members.length === 1 && bob.members.length === 1);
    const old = mod.createInvite();
    await mod.transferModeration(bob.id);
    await waitFor(() => bob.isModerator, 5_000);
    const e = await failure(joinRoom({ transport: n.connect(), invite: old, session: fast }));
    expect([e.code, e.rejectCode]).toEqual(['E_AUTH_FAILED', 'invite-invalid']);
    const carol = await joinRoom({ transport: n.connect(), invite: bob.invite, name: 'carol', session: fast });
    await carol.close();
    await bob.close();
    await mod.close();
  });

  it('bad arguments are typed errors: another room\'s invite, not a moderator, garbage', async () => {
    const n = net();
    const { mod } = await moderated(n);
    const { mod: other } = await moderated(n);
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return e instanceof SealsigError ? e.code : `untyped: ${String(e)}`;
      }
    };
    expect(code(() => mod.revokeInvite(other.invite))).toBe('E_INVALID_ARGUMENT');
    expect(code(() => mod.revokeInvite('not an invite'))).toBe('E_INVALID_ARGUMENT');
    expect(code(() => mod.revokeInvite(null as unknown as string))).toBe('E_INVALID_ARGUMENT');
    expect(code(() => mod.createInvite(10))).toBe('E_INVALID_ARGUMENT');
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast });
    expect(code(() => bob.revokeInvite(mod.invite))).toBe('E_ACCESS_DENIED');
    expect(code(() => bob.createInvite())).toBe('E_ACCESS_DENIED');
    await bob.close();
    await other.close();
    await mod.close();
  });
});

describe('bad invites are typed errors (§R2)', () => {
  it('joinRoom with a malformed parsed invite, or none, is E_INVALID_ARGUMENT, never a TypeError', async () => {
    const n = net();
    const { mod } = await moderated(n);
    const good = parseInvite(mod.invite);
    const bad: unknown[] = [null, 42, {}, { ...good, id: undefined }, { ...good, signature: 'x' }, { ...good, expiresAt: good.expiresAt + 1 }];
    for (const invite of bad) {
      const e = await failure(joinRoom({ transport: n.connect(), invite: invite as Invite, session: fast }));
      expect(e.code).toBe('E_INVALID_ARGUMENT');
    }
    await mod.close();
  });
});

describe('invite options (§R2)', () => {
  it('bad moderation.inviteTtlMs or inviteSigners are E_INVALID_ARGUMENT at createRoom and joinRoom', async () => {
    const n = net();
    for (const moderation of [{ inviteTtlMs: 10 }, { inviteTtlMs: Number.NaN }, { inviteTtlMs: 1e20 }, { inviteSigners: 'everyone' }]) {
      const e = await failure(createRoom({ transport: n.connect(), session: fast, moderation: moderation as object }));
      expect(e.code).toBe('E_INVALID_ARGUMENT');
    }
    const { mod } = await moderated(n);
    const e = await failure(joinRoom({ transport: n.connect(), invite: mod.invite, session: fast, moderation: { inviteSigners: 'x' as 'self' } }));
    expect(e.code).toBe('E_INVALID_ARGUMENT');
    await mod.close();
  });
});
