/**
 * Issues 10 and 18: 256 members join a room, and one is kicked, through a real relay with its default rate
 * limits (100 frames/s, burst 200 per connection) and the websocket transport's defaults (a 256-frame queue,
 * publishLimit the relay's). Every member has its own connection. The moderator hands 255 key frames out;
 * paced by the transport (Transport.pacing, §R5.3), every remaining member reaches the new epoch. The relay
 * refuses no frame for its rate, in the joins or in the kick: each transport sends only what the relay's
 * bucket surely takes, whatever the machine's load. Only the per-IP connection bound is raised: all 256
 * members connect from 127.0.0.1.
 */
import { describe, expect, it } from 'vitest';
import { ready } from '@sealsig/core';
import { createRelay } from '@sealsig/relay';
import { createWebSocketTransport } from '@sealsig/transport-websocket';
import { createRoom, joinRoom, type Room } from '../src/index.js';
import { waitFor } from './helpers.js';

await ready();

const SIZE = 256;
// Heartbeats far apart: with 256 members each one costs 255 signature checks (core §8.4), and they are not
// what this test is about. Retransmissions keep their defaults.
const session = { heartbeatMs: 120_000, maxAgeMs: 600_000 };

describe('a kick in a 256-member room through the relay', () => {
  it('reaches every remaining member with the new epoch; the relay dropped no frame of the joins or of the kick', async () => {
    const relay = createRelay({ host: '127.0.0.1', port: 0, maxConnectionsPerIp: SIZE + 8 });
    const { port } = await relay.listen();
    const url = `ws://127.0.0.1:${port}`;
    const transports = Array.from({ length: SIZE }, () => createWebSocketTransport({ urls: [url] }));
    const rooms: Room[] = [];
    try {
      const mod = await createRoom({ transport: transports[0]!, name: 'mod', moderation: { admit: 'auto' }, session });
      rooms.push(mod);
      const malformed: string[] = []; // what the moderator could not read: none, every member speaks the same protocol
      mod.on('error', (e) => void (e.code === 'E_FRAME_MALFORMED' && malformed.push(e.message)));
      // Join in batches of 4 (the moderator admits them concurrently).
      for (let i = 1; i < SIZE; i += 4) {
        const batch = transports.slice(i, Math.min(i + 4, SIZE));
        rooms.push(...(await Promise.all(batch.map((t, k) => joinRoom({ transport: t, invite: mod.invite, name: `m${i + k}`, session, timeoutMs: 60_000 })))));
      }
      await waitFor(() => mod.members.length === SIZE - 1, 60_000);
      const [, target, ...rest] = rooms;
      const epoch = mod.epoch;
      const kicked = new Promise((r) => target!.once('kicked', r));
      expect(relay.metrics().drops, 'the joins').toEqual({}); // nothing rate-limited or dropped by the relay
      await mod.kick(target!.id, 'room too full');
      await kicked;
      await waitFor(() => rest.every((r) => r.epoch === epoch + 1), 30_000);
      expect(relay.metrics().drops, 'the kick').toEqual({});
      expect(rest.filter((r) => r.members.some((m) => m.id === target!.id)).length).toBe(0);
      expect(malformed).toEqual([]);
    } finally {
      for (const r of rooms) await r.close().catch(() => {});
      for (const t of transports) await t.close();
      await relay.close();
    }
  }, 300_000);
});
