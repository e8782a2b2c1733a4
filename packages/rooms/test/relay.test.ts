/**
 * Rooms end to end over a real relay (real ws sockets, @sealsig/relay, @sealsig/transport-websocket): a
 * moderated password room, a wrong password, a kick with rotation, and what the relay saw.
 */
import { describe, expect, it } from 'vitest';
import { ready } from '@sealsig/core';
import { createRelay } from '@sealsig/relay';
import { createWebSocketTransport } from '@sealsig/transport-websocket';
import { createRoom, fetchDescriptor, joinRoom, relayDescriptorStore, isRoomLive, parseInvite } from '../src/index.js';
import { fast, nextEvent, waitFor } from './helpers.js';

await ready();

describe('rooms over a real relay', () => {
  it('password room: moderator accepts, wrong password refused, privileges, ICE, kick with rotation, transfer', async () => {
    const relay = createRelay({ host: '127.0.0.1', port: 0 });
    const { port } = await relay.listen();
    const url = `ws://127.0.0.1:${port}`;
    const transports = Array.from({ length: 4 }, () => createWebSocketTransport({ urls: [url] }));
    try {
      const store = relayDescriptorStore({ url: `http://127.0.0.1:${port}` });
      const mod = await createRoom({ transport: transports[0]!, name: 'mod', password: 'open sesame', descriptor: { store, title: 'relay room' }, session: fast });
      const invite = parseInvite(mod.invite);
      mod.on('join-request', (r) => (r.passwordVerified && r.name !== 'eve' ? r.accept() : r.reject('no')));
      await expect(joinRoom({ transport: transports[1]!, invite, name: 'eve', password: 'guess', session: fast })).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD' });
      const bob = await joinRoom({ transport: transports[2]!, invite, name: 'bob', password: 'open sesame', session: fast });
      // carol publishes the descriptor if she ever moderates.
      const carol = await joinRoom({ transport: transports[3]!, invite, name: 'carol', password: 'open sesame', descriptor: { store, title: 'relay room' }, session: fast });
      await waitFor(() => mod.members.length === 2 && bob.members.length === 2 && carol.members.length === 2);
      expect(await isRoomLive(invite, store)).toBe(true);

      const offer = nextEvent(carol, 'signal');
      const carolId = bob.members.find((m) => m.name === 'carol')!.id;
      await bob.sendDescription(carolId, { type: 'offer', sdp: 'v=0 fake' });
      expect((await offer).description).toEqual({ type: 'offer', sdp: 'v=0 fake' });

      // Privileges and ICE servers cross the relay too.
      const bobAtCarol = carol.members.find((m) => m.name === 'bob')!.id;
      const denied = nextEvent(carol, 'state');
      expect(await carol.requestMute(bobAtCarol, 'mic')).toBe('denied');
      expect((await denied).name).toBe('mute-request-denied');
      const ice = nextEvent(carol, 'ice-servers');
      mod.setIceServers([{ urls: ['turn:127.0.0.1:3478'], username: '1:x', credential: 'secret' }]);
      expect((await ice).iceServers[0]!.credential).toBe('secret');

      const kicked = nextEvent(bob, 'kicked');
      const epoch = mod.epoch;
      await mod.kick(bob.id, 'bye');
      expect((await kicked).reason).toBe('bye');
      await waitFor(() => carol.epoch === epoch + 1);
      const heard = nextEvent(mod, 'message');
      await carol.broadcast('after the kick');
      expect((await heard).value).toBe('after the kick');
      // Moderation handed over across the relay; a joiner with the original invite finds carol.
      await mod.transferModeration(mod.members.find((m) => m.name === 'carol')!.id);
      await waitFor(() => carol.isModerator);
      carol.on('join-request', (r) => r.accept());
      const dave = await joinRoom({ transport: transports[1]!, invite, name: 'dave', password: 'open sesame', session: fast });
      await waitFor(() => dave.members.length === 2);
      expect(dave.members.find((m) => m.isModerator)?.name).toBe('carol');
      expect(await fetchDescriptor(invite, store)).toMatchObject({ live: true, moderatorKey: carol.key }); // certified by the chain
      await dave.close();
      await mod.close();
      expect(await isRoomLive(invite, store)).toBe(true);
      await carol.close();
      expect(await isRoomLive(invite, store)).toBe(false);
    } finally {
      for (const t of transports) await t.close();
      await relay.close();
    }
  }, 180_000); // a loaded machine stretches every step; nothing here waits on a timer firing on time
});
