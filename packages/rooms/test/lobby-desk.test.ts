/**
 * The lobby desk under load (docs/PROTOCOL.md §R3): one invite holder flooding from fresh lobby identities
 * fills only its invite's quota; a flood that holds slots without resending loses them; a retransmission of a
 * decided request gets the stored answer from its tombstone, never a second decision. Outcomes and counts only.
 */
import { describe, expect, it } from 'vitest';
import { SealsigError, createSessionId, ed25519KeyPair, joinSession, randomBytes, ready, toHex, x25519KeyPair, type Session } from '@sealsig/core';
import { createRoom, fromWire, joinRoom, parseInvite, toWire, RoomMessageTag as Tag, type Invite } from '../src/index.js';
import { AttemptLimiter } from '../src/cpace/attempts.js';
import { grantOf, issueInvite } from '../src/invite-grant.js';
import { LobbyDesk, type DeskOptions } from '../src/lobby-desk.js';
import { fast, net, waitFor } from './helpers.js';

await ready();

/** A raw lobby member: sends what it is told, records the tags and codes it gets back. */
async function rawLobby(n: ReturnType<typeof net>, sessionId: string) {
  const s = await joinSession({ sessionId, transport: n.connect(), identity: { signing: ed25519KeyPair(), dh: x25519KeyPair() }, ...fast });
  const got: { tag: number; code?: string; reason?: string }[] = [];
  s.on('message', ({ value }) => {
    const m = fromWire(value);
    got.push({ tag: m.tag, ...('code' in m ? { code: m.code, reason: m.reason } : {}) });
  });
  return { s, got };
}

/** A lobby of its own with a desk in it: no room behind it, every callback a test's (defaults: nobody listed, nothing banned, no grant checked). */
async function standaloneDesk(n: ReturnType<typeof net>, over: Partial<DeskOptions>) {
  const signer = ed25519KeyPair();
  const invite = issueInvite(createSessionId(), signer.publicKey, 0, false, signer.privateKey);
  const lobby: Session = await joinSession({ sessionId: invite.sessionId, transport: n.connect(), identity: { signing: ed25519KeyPair(), dh: x25519KeyPair() }, ...fast });
  const desk = new LobbyDesk({
    lobby,
    password: undefined,
    limiter: new AttemptLimiter(),
    mode: 'ask',
    decisionTimeoutMs: 60_000,
    chain: () => [],
    checkGrant: () => undefined,
    isMember: () => false,
    banReason: () => undefined,
    ask: () => true,
    admit: () => Promise.reject(new SealsigError('E_ACCESS_DENIED', 'no')),
    report: () => {},
    ...over,
  });
  return { invite, lobby, desk };
}

const request = (invite: Invite, nonce: Uint8Array, name = 'raw') => toWire({ tag: Tag.joinRequest, nonce, name, appData: null, share: null, grant: grantOf(invite) });

describe('lobby desk (§R3)', () => {
  it('one invite holder floods from 20 fresh identities: 8 wait, 12 are told busy; another invite\'s holder is admitted', async () => {
    const n = net();
    // The door (§R3, lobby-door.ts) is opened wide here: this test is about the desk behind it.
    const mod = await createRoom({ transport: n.connect(), name: 'mod', session: fast, moderation: { lobbyRate: 1_000 } });
    mod.on('join-request', (r) => r.name === 'honest' && r.accept()); // the flood is never decided
    const flood = mod.createInvite();
    const honestInvite = mod.createInvite();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        joinRoom({ transport: n.connect(), invite: flood, name: `sybil-${i}`, session: fast, timeoutMs: 4_000 }).then(
          () => 'admitted',
          (e: SealsigError & { rejectCode?: string }) => e.rejectCode ?? e.code,
        ),
      ).concat([
        (async () => {
          await new Promise((r) => setTimeout(r, 500)); // the flood is in place first
          const honest = await joinRoom({ transport: n.connect(), invite: honestInvite, name: 'honest', session: fast });
          await honest.close();
          return 'honest admitted';
        })(),
      ]),
    );
    const count = (x: string) => outcomes.filter((o) => o === x).length;
    expect([count('busy'), count('E_TIMEOUT'), count('honest admitted'), count('admitted')]).toEqual([12, 8, 1, 0]);
    await mod.close();
  });

  it('a retransmitted request that was decided gets the stored answer (tombstone); the app is asked once', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', session: fast });
    let asked = 0;
    mod.on('join-request', (r) => {
      asked++;
      if (r.name === 'no') r.reject('not today');
      else r.accept();
    });
    const invite = parseInvite(mod.invite);
    const raw = await rawLobby(n, invite.sessionId);
    await waitFor(() => raw.s.peers.length === 1);
    const to = raw.s.peers[0]!.id;
    const nonce = randomBytes(16);
    await raw.s.send(to, request(invite, nonce, 'no'));
    await waitFor(() => raw.got.length === 1);
    for (let i = 0; i < 3; i++) await raw.s.send(to, request(invite, nonce, 'no'));
    await waitFor(() => raw.got.length === 4);
    expect(raw.got).toEqual(Array(4).fill({ tag: Tag.joinRejected, code: 'rejected', reason: 'not today' }));
    // Accepted once, the same request again gets the current state again: no second decision, no second commit.
    const yes = randomBytes(16);
    await raw.s.send(to, request(invite, yes, 'yes'));
    await waitFor(() => raw.got.length === 5);
    const rosterAfterFirst = mod.roster.length;
    await raw.s.send(to, request(invite, yes, 'yes'));
    await waitFor(() => raw.got.length === 6);
    expect(raw.got.slice(4).map((g) => g.tag)).toEqual([Tag.joinAccepted, Tag.joinAccepted]);
    expect([asked, rosterAfterFirst, mod.roster.length]).toEqual([2, 2, 2]);
    await raw.s.close();
    await mod.close();
  });

  it('a flood that holds slots without resending loses them once idle; then the invite has room again', async () => {
    const n = net();
    const asked: string[] = [];
    const { invite, lobby, desk } = await standaloneDesk(n, { ask: (r) => (asked.push(r.name), true), limits: { maxPendingPerInvite: 2, idleMs: 600 } }); // never decides
    const sessionId = invite.sessionId;
    const silent = await Promise.all([rawLobby(n, sessionId), rawLobby(n, sessionId)]);
    const late = await rawLobby(n, sessionId);
    for (const r of [...silent, late]) await waitFor(() => r.s.peers.some((p) => p.id === lobby.id));
    for (const [i, r] of silent.entries()) await r.s.send(lobby.id, request(invite, randomBytes(16), `silent-${i}`)); // once, never again
    await waitFor(() => desk.pending(toHex(invite.id)) === 2);
    const lateNonce = randomBytes(16);
    await late.s.send(lobby.id, request(invite, lateNonce, 'late'));
    await waitFor(() => late.got.length === 1);
    expect(late.got[0]).toMatchObject({ tag: Tag.joinRejected, code: 'busy' });
    // The silent ones never resend: swept once idle (the desk sweeps on every message and every 3 s).
    for (let i = 0; i < 50 && !asked.includes('late'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      await late.s.send(lobby.id, request(invite, lateNonce, 'late')); // the joiner retransmits, as joiners do
    }
    expect(asked).toEqual(['silent-0', 'silent-1', 'late']);
    expect(desk.pending(toHex(invite.id))).toBe(1);
    desk.close();
    for (const r of [...silent, late]) await r.s.close();
    await lobby.close();
  });

  it('a key the state lists is answered without a valid grant (a member resynchronising with a revoked or expired invite)', async () => {
    const n = net();
    const listed = new Set<string>();
    const admitted: string[] = [];
    const { invite, lobby, desk } = await standaloneDesk(n, {
      checkGrant: () => ({ code: 'invite-revoked', reason: 'revoked' }), // every grant refused
      isMember: (key) => listed.has(toHex(key)),
      ask: () => false,
      admit: async (key) => {
        admitted.push(toHex(key));
        return Promise.reject(new SealsigError('E_ACCESS_DENIED', 'test: admitted'));
      },
    });
    const member = await rawLobby(n, invite.sessionId);
    const stranger = await rawLobby(n, invite.sessionId);
    for (const r of [member, stranger]) await waitFor(() => r.s.peers.some((p) => p.id === lobby.id));
    listed.add(toHex(lobby.peers.find((p) => p.id === member.s.id)!.signingKey));
    await member.s.send(lobby.id, request(invite, randomBytes(16), 'member'));
    await stranger.s.send(lobby.id, request(invite, randomBytes(16), 'stranger'));
    await waitFor(() => member.got.length === 1 && stranger.got.length === 1);
    expect(stranger.got[0]).toMatchObject({ tag: Tag.joinRejected, code: 'invite-revoked' });
    expect(admitted.length).toBe(1); // the member went on to admission; the stranger never did
    expect(member.got[0]).toMatchObject({ tag: Tag.joinRejected, code: 'rejected', reason: expect.stringContaining('test: admitted') });
    desk.close();
    for (const r of [member, stranger]) await r.s.close();
    await lobby.close();
  });
});
