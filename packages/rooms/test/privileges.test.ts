/** Privileges (docs/PROTOCOL.md §R8): signed stop/mute requests, decided by the owner's policy. */
import { describe, expect, it } from 'vitest';
import { ready, randomBytes } from '@sealsig/core';
import fc from 'fast-check';
import { createRoom, joinRoom, toWire, RoomMessageTag as Tag, type Privileges } from '../src/index.js';
import { signPrivilegeRequest } from '../src/privileges.js';
import { fast, nextEvent, net, waitFor } from './helpers.js';

await ready();

async function pair(ownerPrivileges: Privileges) {
  const n = net();
  const owner = await createRoom({ transport: n.connect(), name: 'owner', privileges: ownerPrivileges, moderation: { admit: 'auto' }, session: fast });
  const viewer = await joinRoom({ transport: n.connect(), invite: owner.invite, name: 'viewer', session: fast, privilegeTimeoutMs: 2_000 });
  await waitFor(() => owner.members.length === 1 && viewer.members.length === 1);
  return { n, owner, viewer, ownerId: viewer.members[0]!.id };
}

describe('privileges', () => {
  it('denied by default: the requester gets stop-request-denied / mute-request-denied', async () => {
    const { owner, viewer, ownerId } = await pair({});
    const granted: unknown[] = [];
    owner.on('privilege', (p) => granted.push(p));
    const state = nextEvent(viewer, 'state');
    expect(await viewer.requestStop(ownerId, 'cam')).toBe('denied');
    expect(await state).toMatchObject({ name: 'stop-request-denied', streamId: 'cam' });
    const state2 = nextEvent(viewer, 'state');
    expect(await viewer.requestMute(ownerId, 'mic')).toBe('denied');
    expect((await state2).name).toBe('mute-request-denied');
    expect(granted).toEqual([]);
    await viewer.close();
    await owner.close();
  });

  it('the owner policy decides, and sees who asks', async () => {
    const asked: unknown[] = [];
    const { owner, viewer, ownerId } = await pair({
      canMuteRemoteStream: true,
      canStopRemoteStream: async (r) => {
        asked.push(r);
        return r.streamId === 'screen';
      },
    });
    const granted = nextEvent(owner, 'privilege');
    expect(await viewer.requestMute(ownerId, 'mic')).toBe('granted');
    expect(await granted).toMatchObject({ action: 'mute', streamId: 'mic' });
    expect(await viewer.requestStop(ownerId, 'screen')).toBe('granted');
    expect(await viewer.requestStop(ownerId, 'cam')).toBe('denied');
    expect(asked).toMatchObject([{ action: 'stop', streamId: 'screen', from: viewer.id, fromModerator: false }, { streamId: 'cam' }]);
    await viewer.close();
    await owner.close();
  });

  it('a forged, replayed or stale request has no effect', async () => {
    const { n, owner, viewer, ownerId } = await pair({ canStopRemoteStream: true });
    const granted: unknown[] = [];
    const errors: string[] = [];
    owner.on('privilege', (p) => granted.push(p));
    owner.on('error', (e) => errors.push(e.code));
    // Signed with a key that is not the sender's.
    const nonce = randomBytes(16);
    const timestamp = Date.now();
    const badSig = signPrivilegeRequest(new Uint8Array(64).fill(1), { roomTopic: viewer.session.topic, ownerKey: owner.key, action: 'stop', streamId: 'cam', nonce, timestamp });
    await viewer.session.send(ownerId, toWire({ tag: Tag.privilegeRequest, nonce, action: 'stop', streamId: 'cam', timestamp, signature: badSig }));
    await waitFor(() => errors.includes('E_AUTH_FAILED'));
    // A good request, then its frames replayed by the relay: granted once.
    const start = n.log.length;
    expect(await viewer.requestStop(ownerId, 'cam')).toBe('granted');
    for (const p of n.log.slice(start)) n.replay(p.seq);
    await n.settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(granted.length).toBe(1);
    await viewer.close();
    await owner.close();
  });

  it('any non-boolean or throwing policy result is a denial', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (result) => {
        const { decidePrivilege } = await import('../src/privileges.js');
        const got = await decidePrivilege(() => result as boolean, { action: 'stop', streamId: 's', from: 'x', fromModerator: false });
        expect(got).toBe(result === true);
      }),
      { numRuns: 200 },
    );
  });
});
