/**
 * §R5.3 Acks: a member acknowledges every change it applies or ignores, except one older than the state it
 * holds. A relay replays a topic's recent frames to a new subscriber (PROTOCOL-RELAY.md §3.4), so a member
 * joining after n changes used to answer each of them: n acks the moderator learned nothing from.
 */
import { describe, expect, it } from 'vitest';
import { ready } from '@sealsig/core';
import { createRoom, joinRoom } from '../src/index.js';
import { fast, net, waitFor } from './helpers.js';

await ready();

/** The envelope's kind (docs/PROTOCOL.md §4.1: a fixarray of small integers, the kind third): 1 broadcast, 4 direct. */
const frameKindOf = (frame: Uint8Array) => frame[3];

describe('state acks (§R5.3)', () => {
  it('a member joining after several changes does not ack their broadcasts replayed to it; a change it applies is acked', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: fast }); // transport 0
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: fast }); // 1
    const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', session: fast }); // 2
    await waitFor(() => bob.members.length === 2 && carol.members.length === 2);
    const before = n.log.length; // the moderator's broadcasts so far: the changes that added bob and carol among them
    const dave = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'dave', session: fast }); // 3
    await waitFor(() => dave.members.length === 3 && mod.members.length === 3);
    const daveDirect = () => n.log.filter((p) => p.from === 3 && frameKindOf(p.frame) === 4).length;
    await new Promise((r) => setTimeout(r, 300));
    const settled = daveDirect();
    let replayed = 0;
    for (let seq = 0; seq < before; seq++) {
      const p = n.log[seq]!;
      if (p.from === 0 && frameKindOf(p.frame) === 1) {
        n.replay(seq);
        replayed++;
      }
    }
    expect(replayed).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(daveDirect() - settled).toBe(0);
    // A change dave applies is acknowledged as before.
    await bob.close();
    await waitFor(() => dave.members.length === 2);
    await waitFor(() => daveDirect() > settled);
    await mod.close();
    await carol.close();
    await dave.close();
  });
});
