/**
 * TURN credentials from a real relay's /turn, kept fresh by the moderator and handed to members sealed inside
 * the room (docs/PROTOCOL.md §R5 "ICE servers"). The credentials are checked the way coturn checks them
 * (use-auth-secret: password = base64(HMAC-SHA1(secret, username))); the relay's own tests run them against
 * a real turnserver.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ready } from '@sealsig/core';
import { createAdmissionToken, createRelay } from '@sealsig/relay';
import { createRoom, joinRoom, relayTurnCredentials } from '../src/index.js';
import { fast, net, waitFor } from './helpers.js';

await ready();

const ADMISSION_SECRET = 'sealsig-admission-secret-0123456789';
const TURN_SECRET = 'coturn-static-auth-secret-0123456789';

describe('TURN credentials in the room', () => {
  it('the moderator fetches them from the relay and keeps them fresh; members receive them sealed', async () => {
    const relay = createRelay({ host: '127.0.0.1', port: 0, admission: { secret: ADMISSION_SECRET }, turn: { secret: TURN_SECRET, urls: ['turn:127.0.0.1:3478'], ttlSeconds: 600 } });
    const { port } = await relay.listen();
    const url = `http://127.0.0.1:${port}`;
    try {
      const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: 'room-turn-user', ttlSeconds: 3_600 });
      await expect(relayTurnCredentials({ url, token: 'not-a-token' })).rejects.toMatchObject({ code: 'E_ACCESS_DENIED' });
      const n = net();
      const mod = await createRoom({
        transport: n.connect(),
        moderation: { admit: 'auto', refreshIceServers: { fetch: () => relayTurnCredentials({ url, token }).then((c) => c.iceServers), everyMs: 1_000 } },
        session: fast,
      });
      const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, session: fast });
      await waitFor(() => bob.iceServers.length === 1);
      const first = bob.iceServers[0]!;
      expect(first.urls).toEqual(['turn:127.0.0.1:3478']);
      expect(first.username).toMatch(/^\d+:room-turn-user$/);
      expect(first.credential).toBe(createHmac('sha1', TURN_SECRET).update(first.username!).digest('base64'));
      // Refreshed: a later expiry, so a new username and password, reach the member.
      await waitFor(() => bob.iceServers[0]!.username !== first.username, 4_000);
      expect(Number(bob.iceServers[0]!.username!.split(':')[0])).toBeGreaterThan(Number(first.username!.split(':')[0]));
      // Never in clear on the signaling network.
      expect(n.log.some((p) => Buffer.from(p.frame).includes(Buffer.from(first.credential!)))).toBe(false);
      await bob.close();
      await mod.close();
    } finally {
      await relay.close();
    }
  });
});
