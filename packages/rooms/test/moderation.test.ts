/** Moderator authority (docs/PROTOCOL.md §R5, §R6): transfer, the chain, forged and replayed commands. */
import { describe, expect, it } from 'vitest';
import { SealsigError, ed25519KeyPair, ready, x25519KeyPair, type MemoryNetwork } from '@sealsig/core';
import { createRoom, joinRoom, toWire, RoomMessageTag as Tag, type Room, type RoomState } from '../src/index.js';
import { fast, nextEvent, net, waitFor } from './helpers.js';

await ready();

async function room3(n: MemoryNetwork = net()) {
  const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: fast });
  const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast });
  const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast });
  await waitFor(() => mod.members.length === 2 && bob.members.length === 2 && carol.members.length === 2);
  return { n, mod, bob, carol };
}

const closeAll = async (...rooms: Room[]) => {
  for (const r of rooms) await r.close();
};

describe('moderator transfer', () => {
  it('hands moderation over; the new moderator admits joiners that hold the original invite', async () => {
    const { n, mod, bob, carol } = await room3();
    const changed = nextEvent(carol, 'moderator');
    const becomes = nextEvent(bob, 'moderator');
    await mod.transferModeration(bob.id);
    expect((await becomes).self).toBe(true);
    expect((await changed).key).toEqual(bob.key);
    expect(mod.isModerator).toBe(false);
    expect(() => mod.rotate()).toThrow(/E_ACCESS_DENIED/);
    // The old moderator leaves; the invite still pins its key, the chain certifies bob.
    const invite = mod.invite;
    await mod.close();
    bob.on('join-request', (r) => r.accept());
    const dave = await joinRoom({ transport: n.connect(), invite, name: 'dave', session: fast });
    await waitFor(() => dave.members.length === 2);
    expect(dave.members.find((m) => m.isModerator)?.name).toBe('bob');
    const e = bob.epoch;
    bob.rotate();
    await waitFor(() => carol.epoch === e + 1 && dave.epoch === e + 1);
    await closeAll(bob, carol, dave);
  });

  it('a lobby peer claiming moderation without a valid chain is ignored', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), moderation: { admit: 'auto' }, session: fast });
    const invite = mod.invite;
    await mod.close();
    // An impostor (it holds the invite, so it is in the lobby) announces itself with a chain it made itself.
    const impostor = await createRoom({ transport: n.connect(), session: fast });
    impostor.on('join-request', () => expect.fail('an uncertified moderator must not be asked'));
    await expect(joinRoom({ transport: n.connect(), invite, session: fast, timeoutMs: 500 })).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    await impostor.close();
  });
});

describe('only the moderator commands', () => {
  function forged(room: Room, version: number, epoch: number): RoomState {
    return {
      version,
      epoch,
      roomKey: new Uint8Array(32).fill(9),
      moderator: room.key,
      members: room.roster,
      iceServers: [],
      chain: [],
      banned: [],
      revoked: [],
    };
  }

  it('a member sending a state, a kick or an epoch key has no effect', async () => {
    const { mod, bob, carol } = await room3();
    const errors: string[] = [];
    carol.on('error', (e) => errors.push(e.code));
    const epoch = carol.epoch;
    const target = bob.members.find((m) => m.name === 'carol')!.id;
    await bob.session.send(target, toWire({ tag: Tag.state, state: forged(bob, 99, epoch + 5) }));
    await bob.session.send(target, toWire({ tag: Tag.kicked, reason: 'forged' }));
    await waitFor(() => errors.length >= 2);
    expect(errors).toEqual(['E_ACCESS_DENIED', 'E_ACCESS_DENIED']);
    expect(carol.epoch).toBe(epoch);
    expect(carol.closed).toBe(false);
    expect(carol.members.find((m) => m.isModerator)?.name).toBe('mod');
    await closeAll(mod, bob, carol);
  });

  it('a replayed (older) state from the moderator changes nothing', async () => {
    const { n, mod, bob, carol } = await room3();
    const start = n.log.length;
    mod.rotate();
    await waitFor(() => bob.epoch === mod.epoch && carol.epoch === mod.epoch);
    const rotationFrames = n.log.slice(start).map((p) => p.seq);
    mod.rotate();
    await waitFor(() => bob.epoch === mod.epoch && carol.epoch === mod.epoch);
    const epoch = mod.epoch;
    for (const seq of rotationFrames) n.replay(seq);
    await n.settle();
    await new Promise((r) => setTimeout(r, 50));
    expect([bob.epoch, carol.epoch]).toEqual([epoch, epoch]);
    expect(bob.members.length).toBe(2);
    await closeAll(mod, bob, carol);
  });

  it('a lost admission is answered again with the current state, even after a rotation', async () => {
    const n = net();
    // ICE servers make the state (and so the admission) bigger than one 256-byte padding bucket.
    const iceServers = [{ urls: 'turn:turn.example:3478', username: 'u', credential: 'c'.repeat(300) }];
    const mod = await createRoom({ transport: n.connect(), moderation: { admit: 'auto' }, iceServers, session: fast });
    let cut = true;
    // Lose what the moderator sends bob that is bigger than a one-bucket control message: the admission (it
    // carries the room state); hellos, handshakes and confirmations still pass.
    n.adversary = (p, subscriber) => (cut && p.from === 0 && subscriber === 1 && p.frame.length > 500 ? [] : [{ frame: p.frame }]);
    const joining = joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast, retryMs: 100 });
    await waitFor(() => mod.roster.length === 2); // admitted, but the answer was lost
    mod.rotate();
    cut = false;
    const bob = await joining;
    expect(bob.epoch).toBe(mod.epoch);
    await waitFor(() => bob.members.length === 1, 2_000);
    const got = nextEvent(mod, 'message');
    await bob.broadcast('with the current key');
    expect((await got).value).toBe('with the current key');
    await closeAll(bob, mod);
  });

  it('a replayed join request admits nobody twice and does not reach the app again', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), session: fast });
    let asked = 0;
    mod.on('join-request', (r) => {
      asked++;
      r.accept();
    });
    const start = n.log.length;
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, session: fast });
    const lobbyFrames = n.log.slice(start).map((p) => p.seq);
    for (const seq of lobbyFrames) n.replay(seq);
    await n.settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(asked).toBe(1);
    expect(mod.roster.length).toBe(2);
    await closeAll(bob, mod);
  });
});

describe('resynchronisation', () => {
  it('a member cut off while the key rotated past its grace period catches up through the lobby', async () => {
    const n = net();
    const timing = { ...fast, epochGraceMs: 200 };
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: timing });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: timing, resyncAfterMs: 300 });
    await waitFor(() => bob.members.length === 1);
    let cut = true;
    n.adversary = (p, subscriber) => (cut && (p.from === 1 || subscriber === 1) ? [] : [{ frame: p.frame }]); // 1: bob
    mod.rotate();
    mod.rotate();
    await new Promise((r) => setTimeout(r, 1_500)); // past the grace period: bob's keys are all stale
    cut = false;
    await waitFor(() => bob.epoch === mod.epoch && bob.members.length === 1 && mod.members.length === 1, 8_000);
    const got = nextEvent(mod, 'message');
    await bob.broadcast('back');
    expect((await got).value).toBe('back');
    await closeAll(bob, mod);
  });

  it('a member kicked while cut off learns it when it asks again', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), moderation: { admit: 'auto' }, session: fast });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast, resyncAfterMs: 300 });
    await waitFor(() => bob.members.length === 1);
    let cut = true;
    n.adversary = (p, subscriber) => (cut && (p.from === 1 || subscriber === 1) ? [] : [{ frame: p.frame }]);
    const kicked = nextEvent(bob, 'kicked', 8_000);
    await mod.kick(bob.id, 'while away');
    cut = false;
    expect((await kicked).reason).toContain('while away'); // the moderator's reason, from the ban list
    expect(bob.closed).toBe(true);
    await mod.close();
  });
});

describe('moderator gone', () => {
  it('without a transfer, nobody else can admit: joiners time out (documented rule, §R6)', async () => {
    const { n, mod, bob, carol } = await room3();
    const invite = mod.invite;
    await mod.close();
    await waitFor(() => bob.members.length === 1);
    await expect(joinRoom({ transport: n.connect(), invite, session: fast, timeoutMs: 400 })).rejects.toBeInstanceOf(SealsigError);
    // The remaining members still talk.
    const got = nextEvent(carol, 'message');
    await bob.broadcast('still here');
    expect((await got).value).toBe('still here');
    await closeAll(bob, carol);
  });

  it('a moderator cut off for longer than the peer timeout resumes moderation when the partition heals', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), moderation: { admit: 'auto' }, session: fast });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast });
    await waitFor(() => bob.members.length === 1);
    let cut = true;
    n.adversary = (p) => (cut && p.from === 0 ? [] : [{ frame: p.frame }]); // transport 0 is the moderator's
    await waitFor(() => bob.members.length === 0, 3_000);
    cut = false;
    await waitFor(() => bob.members.length === 1, 3_000);
    const e = bob.epoch;
    mod.rotate();
    await waitFor(() => bob.epoch === e + 1);
    await closeAll(bob, mod);
  });
});
