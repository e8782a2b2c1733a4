/**
 * Issue 17's lobby outcome (docs/PROTOCOL.md §R3 "Door", core §6.5), on a virtual clock: while one invite
 * holder floods the lobby with fresh identities, a joiner holding another invite is admitted within 2 s and one
 * holding the same invite within 10 s, the password verified; the moderator verifies no signature for the
 * flooding hellos its door keeps waiting.
 *
 * The flooder's budget: it makes FLOOD_PER_SECOND identities a second, each hello with FLOOD_BITS bits of work
 * (2^10 hashes: 100 x 1,024 hashes a second, about what one core hashes in a fifth of a second), so it can
 * afford no more per identity. The honest joiner puts in more work as the moderator does not answer
 * (lobby-door.ts WORK_STEPS) and gets ahead of the flood in its invite's queue.
 */
import {
  BroadcastType,
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  deriveEpochKeys,
  deriveSession,
  ed25519KeyPair,
  memberIdOf,
  randomBytes,
  ready,
  sealBroadcast,
  solveWork,
  x25519KeyPair,
  type MemoryNetwork,
} from '@sealsig/core';
import { afterEach, expect, it, vi } from 'vitest';
import { createRoom, joinRoom, parseInvite, type Room } from '../src/index.js';
import { grantOf } from '../src/invite-grant.js';
import { DOOR_BURST, DOOR_RATE } from '../src/lobby-door.js';
import { encodeGrant } from '../src/wire-grant.js';
import { net } from './helpers.js';

await ready();

const FLOOD_PER_SECOND = 100;
const FLOOD_BITS = 10;

afterEach(() => {
  vi.useRealTimers();
});

/** A flooder holding `invite`: one fresh lobby identity every 1000 / FLOOD_PER_SECOND ms, each hello asking for replies. */
function flooder(n: MemoryNetwork, inviteText: string) {
  const invite = parseInvite(inviteText);
  const keys = deriveSession(invite.sessionId);
  const broadcastKey = deriveEpochKeys(0, keys.roomKey0).broadcastKey;
  const meta = { grant: encodeGrant(grantOf(invite)) };
  return () => {
    const signing = ed25519KeyPair();
    const sender = memberIdOf(keys.memberIdKey, signing.publicKey);
    const instance = randomBytes(8);
    const timestamp = Date.now();
    const work = solveWork(keys.routeTag, sender, instance, timestamp, FLOOD_BITS);
    const header = { version: PROTOCOL_VERSION, suite: SUITE_V1, kind: FrameKind.broadcast, route: keys.routeTag, sender, instance, recipient: null, epoch: 0, counter: 0, timestamp };
    const payload = [signing.publicKey, x25519KeyPair().publicKey, true, meta, work];
    n.inject(keys.topic, sealBroadcast({ header, key: broadcastKey, signingKey: signing.privateKey, type: BroadcastType.hello, payload }));
  };
}

it('while one invite holder floods the lobby with fresh identities, another invite gets in within 2 s and the same invite within 10 s, password verified', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const n = net();
  const session = { heartbeatMs: 1_000, handshakeRetryMs: 200, handshakeTimeoutMs: 15_000 };
  const creating = createRoom({ transport: n.connect(), name: 'mod', password: 'correct horse', session });
  await vi.advanceTimersByTimeAsync(50);
  const mod = await creating;
  const floodInvite = mod.createInvite();
  const otherInvite = mod.createInvite();
  const flood = flooder(n, floodInvite);
  const flooding = Date.now();
  const tick = 1000 / FLOOD_PER_SECOND;
  // The flood runs for 2 s before the joiners come, and goes on.
  for (let t = 0; t < 2_000; t += tick) {
    flood();
    await vi.advanceTimersByTimeAsync(tick);
  }
  const verified: string[] = [];
  mod.on('join-request', (r) => {
    verified.push(`${r.name}: password ${r.passwordVerified ? 'verified' : 'not verified'}`);
    r.accept();
  });
  const start = Date.now();
  const admittedAt: Record<string, number> = {};
  const join = (invite: string, name: string) =>
    joinRoom({ transport: n.connect(), invite, name, password: 'correct horse', session, timeoutMs: 30_000 }).then((room: Room) => {
      admittedAt[name] = Date.now() - start;
      return room;
    });
  const other = join(otherInvite, 'other invite');
  const same = join(floodInvite, 'same invite');
  for (let t = 0; t < 12_000 && Object.keys(admittedAt).length < 2; t += tick) {
    flood();
    await vi.advanceTimersByTimeAsync(tick);
  }
  expect(admittedAt['other invite']).toBeLessThanOrEqual(2_000);
  expect(admittedAt['same invite']).toBeLessThanOrEqual(10_000);
  expect(verified.sort()).toEqual(['other invite: password verified', 'same invite: password verified']);
  // The door kept the flood waiting: the moderator's lobby admitted (and answered, to their inboxes) at most
  // DOOR_BURST + DOOR_RATE a second of the flood's identities, not the 100 a second it sent.
  const seconds = (Date.now() - flooding) / 1000;
  const lobbyTopic = deriveSession(parseInvite(floodInvite).sessionId).topic;
  const toInboxes = n.log.filter((p) => p.from === 0 && p.topic.startsWith(`${lobbyTopic}_`)).length;
  expect(toInboxes).toBeLessThanOrEqual(DOOR_BURST + DOOR_RATE * seconds + 40); // + the two joiners' handshakes and answers
  expect(FLOOD_PER_SECOND * seconds).toBeGreaterThan(3 * (DOOR_BURST + DOOR_RATE * seconds));
  console.info(`admitted after ${admittedAt['other invite']} ms (other invite) and ${admittedAt['same invite']} ms (same invite); the moderator published ${toInboxes} frames to lobby inboxes in ${seconds} s of flood`);
  const rooms = await Promise.all([other, same]);
  for (const r of rooms) await r.close();
  await mod.close();
}, 120_000);
