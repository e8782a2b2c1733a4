/** Rooms end to end over the in-memory network (docs/PROTOCOL.md §R). */
import { describe, expect, it } from 'vitest';
import { SealsigError, ed25519KeyPair, joinSession, randomBytes, ready, x25519KeyPair } from '@sealsig/core';

await ready();
import { createRoom, fromWire, joinRoom, parseInvite, toWire, RoomMessageTag as Tag, type Room } from '../src/index.js';
import { joinerCpace } from '../src/password.js';
import { grantOf } from '../src/invite-grant.js';
import { fast, nextEvent, net, waitFor } from './helpers.js';

async function expectCode(p: Promise<unknown>, code: string): Promise<SealsigError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SealsigError);
  expect((e as SealsigError).code).toBe(code);
  return e as SealsigError;
}

describe('moderated room', () => {
  it('the moderator accepts a join request; both see each other and talk', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', session: fast });
    const requests: string[] = [];
    mod.on('join-request', (r) => {
      requests.push(r.name);
      expect(r.appData).toEqual({ hello: 1 });
      expect(r.passwordVerified).toBe(false);
      r.accept();
    });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', appData: { hello: 1 }, session: fast });
    expect(requests).toEqual(['bob']);
    await waitFor(() => mod.members.length === 1 && bob.members.length === 1);
    expect(bob.members[0]!.isModerator).toBe(true);
    expect(bob.members[0]!.name).toBe('mod');
    expect(mod.members[0]!.name).toBe('bob');
    expect(bob.epoch).toBe(mod.epoch);
    const got = nextEvent(mod, 'message');
    await bob.send(bob.members[0]!.id, 'hi');
    expect((await got).value).toBe('hi');
    const b = nextEvent(bob, 'message');
    await mod.broadcast({ x: 1 });
    expect((await b).value).toEqual({ x: 1 });
    await bob.close();
    await mod.close();
  });

  it('a rejected joiner gets E_ACCESS_DENIED with the reason', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), session: fast });
    mod.on('join-request', (r) => r.reject('not today'));
    const e = await expectCode(joinRoom({ transport: n.connect(), invite: mod.invite, session: fast }), 'E_ACCESS_DENIED');
    expect(e.message).toContain('not today');
    await mod.close();
  });

  it('nobody answering is E_TIMEOUT; nobody listening is a rejection', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), session: fast });
    await expectCode(joinRoom({ transport: n.connect(), invite: mod.invite, session: fast }), 'E_ACCESS_DENIED');
    const invite = mod.invite;
    await mod.close();
    await expectCode(joinRoom({ transport: n.connect(), invite, session: fast, timeoutMs: 300 }), 'E_TIMEOUT');
  });

  it('consent: parsing an invite sends nothing', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), password: 'pw', session: fast });
    const before = n.log.length;
    const invite = parseInvite(`https://app.example/#invite=${mod.invite}`);
    expect(invite.passwordRequired).toBe(true);
    expect(invite.moderatorKey).toEqual(mod.key);
    expect(n.log.length).toBe(before);
    await mod.close();
  });
});

describe('password room', () => {
  it('the right password is admitted; a wrong one fails fast with E_WRONG_PASSWORD', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), password: 'correct horse', moderation: { admit: 'auto' }, session: fast });
    const ok = await joinRoom({ transport: n.connect(), invite: mod.invite, password: 'correct horse', session: fast });
    await waitFor(() => ok.members.length === 1);
    const t0 = Date.now();
    await expectCode(joinRoom({ transport: n.connect(), invite: mod.invite, password: 'wrong horse', session: fast }), 'E_WRONG_PASSWORD');
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expectCode(joinRoom({ transport: n.connect(), invite: mod.invite, session: fast }), 'E_INVALID_ARGUMENT');
    await ok.close();
    await mod.close();
  });

  it('attempt limits hold per invite: past its bound even the right password is refused, another invite is untouched', async () => {
    const n = net();
    const mod = await createRoom({
      transport: n.connect(),
      password: 'pw',
      moderation: { admit: 'auto', attempts: { maxAttemptsPerInvite: 2 } },
      session: fast,
    });
    const spent = mod.createInvite();
    const other = mod.createInvite();
    // Two fresh lobby identities (member ids are free) spend the first invite's budget...
    await expectCode(joinRoom({ transport: n.connect(), invite: spent, password: 'x', session: fast }), 'E_WRONG_PASSWORD');
    await expectCode(joinRoom({ transport: n.connect(), invite: spent, password: 'y', session: fast }), 'E_WRONG_PASSWORD');
    await expectCode(joinRoom({ transport: n.connect(), invite: spent, password: 'pw', session: fast }), 'E_RATE_LIMITED');
    // ...and not the second invite's.
    const ok = await joinRoom({ transport: n.connect(), invite: other, password: 'pw', session: fast });
    await ok.close();
    await mod.close();
  });
});

describe('timeouts and abandoned runs', () => {
  it('a moderator app that never decides: the joiner gets E_TIMEOUT from the moderator', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), moderation: { decisionTimeoutMs: 200 }, session: fast });
    mod.on('join-request', () => {}); // looks, never decides
    await expectCode(joinRoom({ transport: n.connect(), invite: mod.invite, session: fast }), 'E_TIMEOUT');
    await mod.close();
  });

  it('a joiner that never confirms its password run does not hold the moderator\'s only slot', async () => {
    const n = net();
    const mod = await createRoom({
      transport: n.connect(),
      password: 'pw',
      moderation: { admit: 'auto', decisionTimeoutMs: 300, attempts: { maxConcurrent: 1 } },
      session: fast,
    });
    // A raw lobby member sends a real request with a CPace share, reads the challenge, and goes silent.
    const invite = parseInvite(mod.invite);
    const raw = await joinSession({ sessionId: invite.sessionId, transport: n.connect(), ...fast });
    await waitFor(() => raw.peers.length === 1);
    const moderator = raw.peers[0]!;
    const answers: unknown[] = [];
    raw.on('message', (m) => answers.push(fromWire(m.value).tag));
    const nonce = randomBytes(16);
    const run = await joinerCpace('pw', { lobbyTopic: raw.topic, joinerId: raw.id, joinerInstance: raw.instance, moderatorId: moderator.id, moderatorInstance: moderator.instance }, nonce);
    await raw.send(moderator.id, toWire({ tag: Tag.joinRequest, nonce, name: 'silent', appData: null, share: run.share, grant: grantOf(invite) }));
    await waitFor(() => answers.includes(Tag.joinChallenge));
    // While it holds the only slot, the next joiner is refused...
    await expectCode(joinRoom({ transport: n.connect(), invite, password: 'pw', session: fast }), 'E_RATE_LIMITED');
    // ...until the confirmation times out: the silent joiner is told, and the slot is free again.
    await waitFor(() => answers.includes(Tag.joinRejected), 2_000);
    const ok = await joinRoom({ transport: n.connect(), invite, password: 'pw', session: fast });
    await waitFor(() => ok.members.length === 1);
    for (const x of [ok, raw, mod]) await x.close();
  });
});

describe('kick and rotation', () => {
  const bobIdentity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
  async function threeMembers(): Promise<{ n: ReturnType<typeof net>; mod: Room; bob: Room; carol: Room }> {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: fast });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', identity: bobIdentity, session: fast });
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast });
    await waitFor(() => mod.members.length === 2 && bob.members.length === 2 && carol.members.length === 2);
    return { n, mod, bob, carol };
  }

  it('the kicked member is told and closed; the others rotate and no longer hear it', async () => {
    const { n, mod, bob, carol } = await threeMembers();
    const kicked = nextEvent(bob, 'kicked');
    const left = nextEvent(carol, 'peer-left');
    const epoch = mod.epoch;
    await mod.kick(bob.id, 'bye bob');
    expect((await kicked).reason).toBe('bye bob');
    expect(['kicked', 'bye']).toContain((await left).reason); // bob's bye may overtake the new state
    await waitFor(() => carol.epoch === epoch + 1);
    expect(mod.epoch).toBe(epoch + 1);
    expect(bob.closed).toBe(true);
    expect(carol.members.map((m) => m.name)).toEqual(['mod']);
    const got = nextEvent(mod, 'message');
    await carol.broadcast('still here');
    expect((await got).value).toBe('still here');
    // The kicked identity asking again is refused (the moderator's app is not even asked).
    mod.on('join-request', () => expect.fail('a kicked identity must not reach the app'));
    await expectCode(joinRoom({ transport: n.connect(), invite: mod.invite, identity: bobIdentity, session: fast }), 'E_ACCESS_DENIED');
    await carol.close();
    await mod.close();
  });

  it("a newcomer's first message that overtakes the state listing it is held, not lost", async () => {
    const { n, mod, bob, carol } = await threeMembers();
    // The moderator's frames reach carol late: dave's offer arrives before carol learns dave was admitted.
    n.adversary = (p, subscriber) => [{ frame: p.frame, delayMs: p.from === 0 && subscriber === 2 ? 400 : 0 }]; // 0: mod, 2: carol
    const dave = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'dave', session: fast });
    await waitFor(() => dave.members.length === 3);
    const carolId = dave.members.find((m) => m.name === 'carol')!.id;
    const got = nextEvent(carol, 'signal');
    await dave.sendDescription(carolId, { type: 'offer', sdp: 'v=0' });
    expect(carol.members.some((m) => m.name === 'dave')).toBe(false); // not yet listed at carol
    expect((await got).from.name).toBe('dave');
    for (const r of [dave, bob, carol, mod]) await r.close();
  });

  it('a member that leaves drops off the roster and may come back with the same identity', async () => {
    const { n, mod, bob, carol } = await threeMembers();
    await bob.close();
    await waitFor(() => mod.roster.length === 2 && carol.roster.length === 2);
    mod.on('join-request', () => expect.fail('admit is auto'));
    const again = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob again', identity: bobIdentity, session: fast });
    await waitFor(() => carol.members.some((m) => m.name === 'bob again') && again.members.length === 2);
    const got = nextEvent(carol, 'message');
    await again.broadcast('back');
    expect((await got).value).toBe('back');
    for (const r of [again, carol, mod]) await r.close();
  });

  it('optional rotation on every join and on a timer', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), moderation: { admit: 'auto', rotateOnJoin: true }, session: fast });
    const e0 = mod.epoch;
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, session: fast });
    expect(mod.epoch).toBe(e0 + 1);
    expect(bob.epoch).toBe(e0 + 1); // the newcomer starts at the new epoch: earlier broadcasts stay closed to it
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, session: fast });
    await waitFor(() => bob.epoch === e0 + 2 && carol.epoch === e0 + 2);
    for (const r of [carol, bob, mod]) await r.close();

    const timed = await createRoom({ transport: n.connect(), moderation: { admit: 'auto', rotateEveryMs: 100 }, session: fast });
    const dave = await joinRoom({ transport: n.connect(), invite: timed.invite, session: fast });
    const start = dave.epoch;
    await waitFor(() => dave.epoch >= start + 3);
    for (const r of [dave, timed]) await r.close();
  });

  it('only the moderator may kick, rotate, transfer or set ICE servers', async () => {
    const { mod, bob, carol } = await threeMembers();
    await expectCode(bob.kick(carol.id), 'E_ACCESS_DENIED');
    expect(() => bob.rotate()).toThrow(/E_ACCESS_DENIED/);
    expect(() => bob.setIceServers([])).toThrow(/E_ACCESS_DENIED/);
    await expectCode(bob.transferModeration(carol.id), 'E_ACCESS_DENIED');
    for (const r of [bob, carol, mod]) await r.close();
  });

  it('rotation reaches every member; ICE servers travel sealed in the room', async () => {
    const { n, mod, bob, carol } = await threeMembers();
    const e = mod.epoch;
    mod.rotate();
    await waitFor(() => bob.epoch === e + 1 && carol.epoch === e + 1);
    const ice = nextEvent(bob, 'ice-servers');
    const secret = 'turn-credential-xyz';
    mod.setIceServers([{ urls: 'turn:turn.example:3478', username: '1700000000:abc', credential: secret }]);
    expect((await ice).iceServers[0]!.credential).toBe(secret);
    const seen = n.log.some((p) => Buffer.from(p.frame).includes(Buffer.from(secret)));
    expect(seen).toBe(false);
    for (const r of [bob, carol, mod]) await r.close();
  });
});
