/**
 * Issue 10, "Linear cost per member" (§R5.2, §R5.3), as counts: a join that needs no rotation reaches each
 * member already in the room with the same few frames whatever the room's size (the newcomer's hello and the
 * moderator's one signed change), and a kick hands each remaining member one small key frame. Times live in
 * `pnpm bench` (bench/rooms-growth.ts); these are counts, so they hold on any machine.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame, FrameKind, passThrough, ready } from '@sealsig/core';
import { createRoom, joinRoom, type Room } from '../src/index.js';
import { net, waitFor } from './helpers.js';

await ready();

// No heartbeats during the measurement (they cost O(n) per period by design, core §8.4).
const quiet = { heartbeatMs: 60_000, handshakeRetryMs: 100, handshakeTimeoutMs: 3_000 };

// Repairs only after a minute: the network loses nothing, and on a loaded machine a late acknowledgement
// would otherwise add a repair frame to the counts.
const noRepairs = 60_000;

async function room(size: number) {
  const n = net();
  const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: quiet, retryMs: noRepairs });
  const members: Room[] = [];
  for (let i = 1; i < size; i++) {
    members.push(await joinRoom({ transport: n.connect(), invite: mod.invite, name: `m${i}`, session: quiet, retryMs: noRepairs }));
    await waitFor(() => [mod, ...members].every((r) => r.members.length === members.length));
  }
  await settle(n);
  return { n, mod, members };
}

/** Until nothing is in flight for a while (acks answered, repairs not needed). */
async function settle(n: ReturnType<typeof net>): Promise<void> {
  for (let quietFor = 0; quietFor < 5; ) {
    await new Promise((r) => setTimeout(r, 20));
    quietFor = n.inFlight === 0 ? quietFor + 1 : 0;
  }
}

/** Deliveries to one connection: how many, how many to its inbox, bytes, and each one's frame kind (for failure messages). */
interface Counts {
  frames: number;
  direct: number;
  bytes: number;
  kinds: string[];
}

/**
 * Deliveries (and bytes) to each connection while `act` runs and the network settles. An inbox is the room's
 * topic, '_' and an inbox id (core §3.6); the topic itself, base64url, may hold a '_' too.
 */
async function count(n: ReturnType<typeof net>, roomTopic: string, act: () => Promise<void>): Promise<Map<number, Counts>> {
  const got = new Map<number, Counts>();
  n.adversary = (p, sub) => {
    const c = got.get(sub) ?? { frames: 0, direct: 0, bytes: 0, kinds: [] };
    const inbox = p.topic.startsWith(`${roomTopic}_`);
    c.frames++;
    if (inbox) c.direct++;
    c.bytes += p.frame.length;
    const kind = decodeFrame(p.frame).header.kind;
    c.kinds.push(`${inbox ? 'inbox' : p.topic === roomTopic ? 'topic' : p.topic} ${Object.keys(FrameKind).find((k) => FrameKind[k as keyof typeof FrameKind] === kind)}`);
    got.set(sub, c);
    return passThrough(p, sub);
  };
  await act();
  await settle(n);
  n.adversary = passThrough;
  return got;
}

describe('cost per member (counts)', () => {
  it('a join reaches each established member with the same frames and bytes at 5 and at 17 members', async () => {
    const perMember: number[][] = [];
    const bytes: number[] = [];
    for (const size of [5, 17]) {
      const { n, mod, members } = await room(size);
      let joined: Room | undefined;
      const got = await count(n, mod.session.topic, async () => {
        joined = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'new', session: quiet, retryMs: noRepairs });
        await waitFor(() => [mod, ...members].every((r) => r.members.length === size));
      });
      // Connections 1..size-1 are the established members (0 is the moderator, the last one the newcomer).
      const frames = members.map((_, i) => got.get(i + 1)?.frames ?? 0);
      perMember.push(frames);
      bytes.push(Math.max(...members.map((_, i) => got.get(i + 1)?.bytes ?? 0)));
      for (const r of [joined!, ...members, mod]) await r.close();
    }
    const [small, large] = perMember;
    // The newcomer's hello and the moderator's change: two frames each, whatever the size of the room.
    expect(Math.max(...small!)).toBe(2);
    expect(Math.max(...large!)).toBe(2);
    expect(bytes[1]).toBe(bytes[0]);
  }, 60_000);

  it('a kick delivers one key frame to each remaining member and at most 4n frames in all', async () => {
    const size = 17;
    const { n, mod, members } = await room(size);
    const [target, ...rest] = members;
    const epoch = mod.epoch;
    const got = await count(n, mod.session.topic, async () => {
      await mod.kick(target!.id, 'bye');
      await waitFor(() => rest.every((r) => r.epoch === epoch + 1));
    });
    const delivered = [...got.values()].reduce((a, c) => a + c.frames, 0);
    expect(delivered).toBeLessThanOrEqual(4 * size);
    for (let i = 2; i < size; i++) {
      // One pairwise frame, the key (acks go to the moderator); besides it only the kicked member's goodbye.
      const c = got.get(i);
      expect(c?.direct, `member ${i}: ${c?.kinds.join(', ')}`).toBe(1);
      expect(c?.frames, `member ${i}: ${c?.kinds.join(', ')}`).toBeLessThanOrEqual(2);
    }
    for (const r of [...rest, mod]) await r.close();
  }, 60_000);
});

describe('repairs (§R5.3)', () => {
  it('a member that missed one change gets it again pairwise, and one that missed two catches up', async () => {
    const n = net();
    const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, session: quiet, retryMs: 100 });
    const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', session: quiet, retryMs: 100 });
    await waitFor(() => mod.members.length === 1 && bob.members.length === 1);
    await settle(n);
    // Withhold the moderator's broadcasts from bob (connection 1): the changes he would read.
    const roomTopic = mod.session.topic;
    let drop = true;
    let repairs = 0;
    n.adversary = (p, sub) => {
      if (sub === 1 && p.from === 0 && p.topic === roomTopic && drop) return [];
      if (sub === 1 && p.from === 0 && p.topic === bob.session.inbox) repairs++;
      return passThrough(p, sub);
    };
    mod.setIceServers([{ urls: 'stun:one.example' }]);
    await waitFor(() => bob.iceServers[0]?.urls === 'stun:one.example', 3_000);
    expect(repairs).toBeGreaterThanOrEqual(1);
    mod.setIceServers([{ urls: 'stun:two.example' }]);
    mod.setIceServers([{ urls: 'stun:three.example' }]);
    await waitFor(() => bob.iceServers[0]?.urls === 'stun:three.example', 3_000);
    drop = false;
    n.adversary = passThrough;
    for (const r of [bob, mod]) await r.close();
  }, 20_000);
});
