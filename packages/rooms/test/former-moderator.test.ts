/**
 * Issue 10, flaw 1 (first part): a former moderator still holds the key the invite pins. A member that
 * resynchronises while the transport withholds the real moderator from it must not take the former
 * moderator's word: it does not ask it, and a 'rejected' from anyone but its own moderator (or a successor
 * certified after its state) is never a kick.
 */
import { describe, expect, it } from 'vitest';
import { ed25519KeyPair, equalBytes, joinSession, ready, x25519KeyPair } from '@sealsig/core';
import { RoomMessageTag as Tag, createRoom, fromWire, joinRoom, parseInvite, toWire } from '../src/index.js';
import { fast, net, waitFor } from './helpers.js';

await ready();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a former moderator', () => {
  it('cannot kick a resynchronising member by refusing it in the lobby', async () => {
    const n = net();
    const formerIdentity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
    const mod = await createRoom({ transport: n.connect(), name: 'mod', identity: formerIdentity, moderation: { admit: 'auto' }, session: fast });
    const invite = mod.invite;
    const bob = await joinRoom({ transport: n.connect(), invite, name: 'bob', session: fast, moderation: { admit: 'auto' } });
    const carol = await joinRoom({ transport: n.connect(), invite, name: 'carol', session: fast, resyncAfterMs: 200 });
    await waitFor(() => mod.members.length === 2 && bob.members.length === 2 && carol.members.length === 2);
    await mod.transferModeration(bob.id);
    await waitFor(() => equalBytes(carol.moderatorKey, bob.key) && bob.isModerator, 5_000);
    await mod.close();

    // The former moderator, with the pinned key, waits in the lobby and refuses whoever asks.
    const lobby = await joinSession({ sessionId: parseInvite(invite).sessionId, transport: n.connect(), identity: formerIdentity, ...fast });
    let asked = 0;
    lobby.on('message', ({ from, value }) => {
      const m = fromWire(value);
      if (m.tag !== Tag.joinRequest) return;
      asked++;
      void lobby.send(from.id, toWire({ tag: Tag.joinRejected, nonce: m.nonce, code: 'rejected', reason: 'you are out' }));
    });

    // The transport withholds bob (the real moderator: room and lobby) from carol, so carol resynchronises.
    let withhold = true;
    n.adversary = (p, sub) => (withhold && ((p.from === 1 && sub === 2) || (p.from === 2 && sub === 1)) ? [] : [{ frame: p.frame }]);
    let kicked: string | undefined;
    carol.on('kicked', ({ reason }) => (kicked = reason));
    await sleep(3_000); // several resync attempts (every 200 ms, backing off)
    expect(kicked).toBeUndefined();
    expect(asked).toBe(0); // carol never asked the former moderator
    withhold = false;
    await waitFor(() => carol.members.some((m) => equalBytes(m.key, bob.key)), 8_000);
    expect(kicked).toBeUndefined();
    await lobby.close();
    await bob.close();
    await carol.close();
  }, 30_000);
});
