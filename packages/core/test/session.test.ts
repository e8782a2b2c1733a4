import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryNetwork, createSessionId, isSealsigError, joinSession, type Session } from '../src/index.js';
import { next, pair, waitFor } from './helpers.js';

const open: Session[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('session', () => {
  it('two members see each other, send direct messages and broadcasts', async () => {
    const { a, b } = await pair();
    open.push(a, b);
    expect(a.peers[0]!.id).toBe(b.id);
    expect(b.peers[0]!.id).toBe(a.id);

    const got = next<{ value: unknown; broadcast: boolean }>(b, 'message');
    await a.send(b.id, { hello: 'world', n: 1 });
    expect(await got).toMatchObject({ value: { hello: 'world', n: 1 }, broadcast: false });

    const back = next<{ value: unknown; broadcast: boolean }>(a, 'message');
    await b.send(a.id, [1, 2, 3]);
    expect((await back).value).toEqual([1, 2, 3]);

    const bc = next<{ value: unknown; broadcast: boolean }>(b, 'message');
    await a.broadcast('to all');
    expect(await bc).toMatchObject({ value: 'to all', broadcast: true });
  });

  it('carries typed offers, answers and candidates', async () => {
    const { a, b } = await pair();
    open.push(a, b);
    const sig = next<{ description?: unknown }>(b, 'signal');
    await a.sendDescription(b.id, { type: 'offer', sdp: 'v=0\r\n' });
    expect((await sig).description).toEqual({ type: 'offer', sdp: 'v=0\r\n' });
    const cand = next<{ candidate?: unknown }>(a, 'signal');
    await b.sendCandidate(a.id, { candidate: 'candidate:1 1 udp 1 198.18.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 });
    expect((await cand).candidate).toMatchObject({ sdpMid: '0', sdpMLineIndex: 0 });
  });

  it('simultaneous sends from both sides converge on one channel', async () => {
    const { a, b } = await pair();
    open.push(a, b);
    const inA: unknown[] = [];
    const inB: unknown[] = [];
    a.on('message', (m) => inA.push(m.value));
    b.on('message', (m) => inB.push(m.value));
    await Promise.all([a.send(b.id, 'x1'), b.send(a.id, 'y1'), a.send(b.id, 'x2'), b.send(a.id, 'y2')]);
    await waitFor(() => inA.length === 2 && inB.length === 2);
    expect(inB).toEqual(['x1', 'x2']);
    expect(inA).toEqual(['y1', 'y2']);
  });

  it('reports leave on close and rejects sends to unknown peers', async () => {
    const { a, b } = await pair();
    open.push(a);
    const left = next<{ reason: string }>(a, 'peer-left');
    await b.close();
    expect((await left).reason).toBe('bye');
    await expect(a.send(b.id, 1)).rejects.toSatisfy((e) => isSealsigError(e, 'E_UNKNOWN_PEER'));
  });

  it('members of other sessions on the same network never meet', async () => {
    const net = createMemoryNetwork();
    const a = await joinSession({ sessionId: createSessionId(), transport: net.connect() });
    const b = await joinSession({ sessionId: createSessionId(), transport: net.connect() });
    open.push(a, b);
    await new Promise((r) => setTimeout(r, 30));
    expect(a.peers).toEqual([]);
    expect(a.topic).not.toBe(b.topic);
  });
});
