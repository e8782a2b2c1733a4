/** Session.expel (docs/PROTOCOL.md §8.5) and joining at a later epoch (§9). */
import { describe, expect, it } from 'vitest';
import { createMemoryNetwork, createSessionId, joinSession, type Session } from '../src/index.js';
import { next, pair, waitFor } from './helpers.js';

const key = (b: number) => new Uint8Array(32).fill(b);

describe('expel', () => {
  it('removes the member, refuses its frames from any instance, and keeps the others', async () => {
    const { net, a, b, sessionId } = await pair();
    const c = await joinSession({ sessionId, transport: net.connect() });
    await waitFor(() => a.peers.length === 2 && c.peers.length === 2);
    await b.send(a.id, 'before'); // a channel exists, so the test also covers its erasure
    await waitFor(() => a.stats.accepted > 3);
    const left = next<{ reason: string }>(a, 'peer-left');
    a.expel(b.id);
    expect((await left).reason).toBe('expelled');
    const errors: string[] = [];
    a.on('error', (e) => errors.push(e.code));
    const got: unknown[] = [];
    a.on('message', (m) => got.push(m.value));
    await b.broadcast('after').catch(() => {});
    await b.send(a.id, 'direct after').catch(() => {});
    await waitFor(() => errors.length >= 2);
    expect(errors.every((c) => c === 'E_UNKNOWN_SENDER')).toBe(true);
    await c.broadcast('from c');
    await waitFor(() => got.includes('from c'));
    expect(got).toEqual(['from c']);
    expect(a.peers.map((p) => p.id)).toEqual([c.id]);
    for (const s of [a, b, c]) await s.close();
  });

  it('refuses bad ids and itself', async () => {
    const { a, b } = await pair();
    expect(a.memberIdOf(b.peers[0]!.signingKey)).toBe(a.id);
    expect(() => a.memberIdOf(new Uint8Array(31))).toThrow(/E_INVALID_ARGUMENT/);
    expect(() => a.expel('nope')).toThrow(/E_INVALID_ARGUMENT/);
    expect(() => a.expel(a.id)).toThrow(/E_INVALID_ARGUMENT/);
    a.expel(b.id);
    a.expel(b.id); // idempotent
    await a.close();
    expect(() => a.expel(b.id)).toThrow(/E_CLOSED/);
    await b.close();
  });
});

describe('joining at a later epoch', () => {
  it('members that installed epoch 3 see a member that joins at epoch 3 at once', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const a = await joinSession({ sessionId, transport: net.connect() });
    a.installEpoch(3, key(7));
    const c = await joinSession({ sessionId, transport: net.connect(), epoch: { epoch: 3, roomKey: key(7) } });
    await waitFor(() => a.peers.length === 1 && c.peers.length === 1);
    expect(c.epoch).toBe(3);
    const m = next<{ value: unknown }>(a, 'message');
    await c.send(a.id, 'hi');
    expect((await m).value).toBe('hi');
    // A member holding only the session id (epoch 0) reads nothing of theirs once the grace period is over.
    const outsider: Session = await joinSession({ sessionId, transport: net.connect(), epochGraceMs: 0 });
    const err = next<{ code: string }>(outsider, 'error');
    await a.broadcast('epoch 3 only');
    expect((await err).code).toBe('E_EPOCH');
    for (const s of [a, c, outsider]) await s.close();
  });

  it('two quick rotations keep both superseded epochs for their grace period, then erase them', async () => {
    const { a, b } = await pair({ epochGraceMs: 300 });
    a.installEpoch(1, key(1));
    a.installEpoch(2, key(2));
    const got = next<{ value: unknown }>(a, 'message');
    await b.broadcast('from epoch 0'); // b missed both rotations
    expect((await got).value).toBe('from epoch 0');
    await new Promise((r) => setTimeout(r, 1_100)); // housekeeping runs at most every second
    const err = next<{ code: string }>(a, 'error');
    await b.broadcast('too late');
    expect((await err).code).toBe('E_EPOCH');
    await a.close();
    await b.close();
  });

  it('validates the epoch option', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    await expect(joinSession({ sessionId, transport: net.connect(), epoch: { epoch: -1, roomKey: key(1) } })).rejects.toThrow(/E_INVALID_ARGUMENT/);
    await expect(joinSession({ sessionId, transport: net.connect(), epoch: { epoch: 1, roomKey: new Uint8Array(3) } })).rejects.toThrow(/E_INVALID_ARGUMENT/);
  });
});
