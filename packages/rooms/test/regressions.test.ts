import { describe, expect, it } from 'vitest';
import { ready, ed25519KeyPair, x25519KeyPair, equalBytes } from '@sealsig/core';
import { createRoom, joinRoom } from '../src/index.js';
import { fast, net, waitFor } from './helpers.js';

await ready();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Regressions found by an independent review of the rooms layer (each failed before its fix). */
describe('review regressions', () => {
  it('transfer then close: a member that missed the transfer follows the certified successor', async () => {
    const n = net();
    const t = { ...fast, epochGraceMs: 200 };
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: t });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: t, moderation: { admit: 'auto' } });
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: t, resyncAfterMs: 300 });
    await waitFor(() => mod.members.length === 2 && bob.members.length === 2 && carol.members.length === 2);
    let cut = true;
    n.adversary = (p, sub) => (cut && (p.from === 2 || sub === 2) ? [] : [{ frame: p.frame }]);
    await mod.transferModeration(bob.id);
    await mod.close();
    await sleep(300);
    cut = false;
    await waitFor(() => equalBytes(carol.moderatorKey, bob.key), 8_000);
    bob.rotate();
    await waitFor(() => carol.epoch === bob.epoch, 3_000);
    expect(carol.members.map((m) => m.name)).toEqual(['bob']);
    await bob.close(); await carol.close();
  }, 20_000);

  it('moderation changes hands at most 16 times; the 17th transfer is refused and the room keeps its moderator', async () => {
    const n = net();
    const a = await createRoom({ transport: n.connect(), name: 'a', moderation: { admit: 'auto' }, session: fast });
    const b = await joinRoom({ transport: n.connect(), invite: a.invite, name: 'b', session: fast });
    await waitFor(() => a.members.length === 1 && b.members.length === 1);
    const errors: string[] = [];
    a.on('error', (e) => errors.push('a:' + e.code + ' ' + e.message));
    b.on('error', (e) => errors.push('b:' + e.code + ' ' + e.message));
    let from = a, to = b;
    for (let i = 1; i <= 16; i++) {
      await from.transferModeration(to.id);
      await waitFor(() => to.isModerator, 3_000);
      [from, to] = [to, from];
    }
    await expect(from.transferModeration(to.id)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(from.isModerator).toBe(true);
    expect(errors).toEqual([]);
    await a.close(); await b.close();
  }, 30_000);

  it('a member whose bye is overtaken by the roster update is not expelled: re-admitted, it is seen again', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: fast });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast });
    const identity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast, identity });
    await waitFor(() => mod.members.length === 2 && bob.members.length === 2 && carol.members.length === 2);
    n.adversary = (p, sub) => (p.from === 2 && sub === 1 ? [] : [{ frame: p.frame }]); // carol's bye to bob is lost
    await carol.close();
    await waitFor(() => mod.roster.length === 2 && bob.roster.length === 2);
    n.adversary = (p) => [{ frame: p.frame }];
    await sleep(1_500);
    const carol2 = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast, identity });
    await waitFor(() => mod.members.length === 2 && bob.roster.length === 3);
    await waitFor(() => bob.members.some((m) => m.name === 'carol') && carol2.members.length === 2, 5_000);
    expect(bob.session.stats.dropped.E_UNKNOWN_SENDER ?? 0).toBe(0);
    await mod.close(); await bob.close(); await carol2.close();
  }, 20_000);

  it('a kicked key stays refused after a transfer: the ban list travels in the room state', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: fast });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast, moderation: { admit: 'auto' } });
    const identity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast, identity });
    await waitFor(() => mod.members.length === 2 && bob.members.length === 2);
    await mod.kick(carol.id);
    await waitFor(() => carol.closed);
    await expect(joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast, identity, timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'E_ACCESS_DENIED' });
    await mod.transferModeration(bob.id);
    await waitFor(() => bob.isModerator);
    await expect(joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast, identity, timeoutMs: 3_000 })).rejects.toMatchObject({ code: 'E_ACCESS_DENIED' });
    await bob.close(); await mod.close();
  }, 20_000);
});
