import { describe, expect, it } from 'vitest';
import { passThrough } from '../src/index.js';
import { next, pair, waitFor } from './helpers.js';

describe('a peer that times out and comes back', () => {
  it('resumes with its instance, window and channel; a replayed old hello does not resume it', async () => {
    const { net, a, b } = await pair({ heartbeatMs: 20, peerTimeoutMs: 100, handshakeRetryMs: 20 });
    const got: unknown[] = [];
    b.on('message', (m) => got.push(m.value));
    await a.send(b.id, 'before');
    await waitFor(() => got.length === 1);
    const oldHello = net.log.findIndex((p) => p.from === 1); // b's first hello

    const left = next<{ reason: string }>(a, 'peer-left');
    net.adversary = () => []; // partition
    expect((await left).reason).toBe('timeout');

    // The relay replays b's old hello: its counter is in the window kept for b's instance.
    const duplicates = a.stats.duplicates;
    const back = next<{ id: string; instance: string }>(a, 'peer-joined'); // b's next heartbeat
    net.adversary = passThrough;
    net.replay(oldHello);
    await waitFor(() => a.stats.duplicates > duplicates);

    expect(await back).toMatchObject({ id: b.id, instance: b.instance });
    await a.send(b.id, 'after'); // the pairwise channel survived
    await waitFor(() => got.length === 2);
    expect(got).toEqual(['before', 'after']);
    await Promise.all([a.close(), b.close()]);
  });
});
