/** Two relay nodes sharing topics through one real redis-server. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Relay } from '../src/index.js';
import { connect, roundTrip, sleep, startRelay, text, waitFor } from './helpers.js';
import { startRedis } from '@sealsig/transport-conformance';

const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';

let redis: Awaited<ReturnType<typeof startRedis>>;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('Redis fan-out', () => {
  let a: { relay: Relay; url: string };
  let b: { relay: Relay; url: string };
  beforeAll(async () => {
    a = await startRelay({ redis: { url: redis.url } });
    b = await startRelay({ redis: { url: redis.url } });
  });
  afterAll(async () => {
    await Promise.all([a?.relay.close(), b?.relay.close()]);
  });

  it('clients on two nodes exchange frames, without echo or duplicates', async () => {
    const ca = await connect(a.url);
    const cb = await connect(b.url);
    await ca.subscribe(TOPIC);
    await cb.subscribe(TOPIC);
    ca.publish(TOPIC, text('a to b'));
    cb.publish(TOPIC, text('b to a'));
    await waitFor(() => ca.delivered().length === 1 && cb.delivered().length === 1);
    await sleep(100);
    expect(ca.delivered().map((f) => Buffer.from(f).toString())).toEqual(['b to a']);
    expect(cb.delivered().map((f) => Buffer.from(f).toString())).toEqual(['a to b']);
    // Isolation across nodes.
    const other = await connect(b.url);
    await other.subscribe('another-topic');
    await roundTrip(ca, cb, TOPIC);
    expect(other.delivered()).toHaveLength(0);
    await Promise.all([ca.close(), cb.close(), other.close()]);
  });

  it('a node drops its Redis subscription when its last local subscriber leaves', async () => {
    const probe = new Redis(redis.url);
    onTestFinished(() => probe.disconnect());
    const ca = await connect(a.url);
    const cb = await connect(b.url);
    await ca.subscribe('leave-topic');
    await cb.subscribe('leave-topic');
    await roundTrip(cb, ca, 'leave-topic');
    const numsub = async () => {
      const r = (await probe.pubsub('SHARDNUMSUB', 'sealsig:n:{leave-topic}')) as [string, number]; // sharded pub/sub (SSUBSCRIBE)
      return Number(r[1]);
    };
    expect(await numsub()).toBe(2);
    ca.unsubscribe('leave-topic');
    await waitFor(() => a.relay.metrics().topics === 0);
    const deadline = Date.now() + 5_000;
    while ((await numsub()) !== 1 && Date.now() < deadline) await sleep(10);
    expect(await numsub()).toBe(1);
    const outBefore = a.relay.metrics().framesOut;
    cb.publish('leave-topic', text('nobody on A'));
    await sleep(100);
    expect(a.relay.metrics().framesOut).toBe(outBefore);
    expect(ca.delivered('leave-topic')).toHaveLength(1);
    await Promise.all([ca.close(), cb.close()]);
  });

  it('when node A shuts down mid-stream, its client resumes on B from its last position: nothing lost, nothing twice', async () => {
    const STREAM = 'shutdown-stream-topic';
    const c = await startRelay({ redis: { url: redis.url } });
    const d = await startRelay({ redis: { url: redis.url } });
    onTestFinished(() => Promise.all([c.relay.close(), d.relay.close()]).then(() => undefined));
    const onC = await connect(c.url);
    const onD = await connect(d.url);
    await onC.subscribe(STREAM);
    await onD.subscribe(STREAM);
    let sent = 0;
    const stream = setInterval(() => onD.publish(STREAM, text(`d${sent++}`)), 5);
    onTestFinished(() => clearInterval(stream));
    await waitFor(() => onC.delivered().length >= 10);
    const closing = c.relay.close();
    expect((await onC.closed).code).toBe(1012);
    await closing;
    // Resumed on D from its last position on C: every frame, none twice, in order (the stream is in Redis).
    const again = await connect(d.url);
    expect(await again.subscribe(STREAM, onC.position(STREAM))).toBe(true);
    const before = sent;
    await waitFor(() => again.delivered().some((f) => Number(Buffer.from(f).toString().slice(1)) > before + 10));
    clearInterval(stream);
    const numbers = [...onC.delivered(STREAM), ...again.delivered(STREAM)].map((f) => Number(Buffer.from(f).toString().slice(1)));
    expect(numbers).toEqual(numbers.map((_, i) => i));
    // And back the other way, to the streaming client on D.
    await roundTrip(again, onD, STREAM);
    await Promise.all([onD.close(), again.close(), d.relay.close()]);
  });
});
