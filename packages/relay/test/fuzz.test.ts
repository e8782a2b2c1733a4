/**
 * Property: arbitrary binary messages from one client never crash the relay, and reach other clients only
 * when they are well-formed PUBLISHes (and then exactly those frames, in order, on exactly their topic).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/index.js';
import { decodeInbound } from '../src/protocol.js';
import { connect, roundTrip, startRelay, waitFor, type TestClient } from './helpers.js';

const TOPICS = ['t1', 't2'];

/** Reference model, written independently of src/protocol.ts: the frame a message publishes, if any. */
function published(m: Uint8Array): { topic: string; frame: Uint8Array } | undefined {
  if (m.length < 2 || m[0] !== 0x03) return undefined;
  const end = 2 + m[1]!;
  if (m[1]! < 1 || m[1]! > 64 || end > m.length) return undefined; // an empty frame is a frame
  const topic = Buffer.from(m.subarray(2, end)).toString('latin1');
  if (!/^[A-Za-z0-9_-]+$/.test(topic)) return undefined;
  return { topic, frame: m.subarray(end) };
}

const publishArb = fc
  .tuple(fc.constantFrom('t1', 't2', 't3', 'a-b_C9'), fc.uint8Array({ minLength: 0, maxLength: 40 }))
  .map(([topic, frame]) => new Uint8Array([0x03, topic.length, ...Buffer.from(topic), ...frame]));
const opcodeArb = fc
  .tuple(fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0xff), fc.uint8Array({ maxLength: 70 }))
  .map(([op, rest]) => new Uint8Array([op, ...rest]));
const messageArb = fc.oneof(fc.uint8Array({ maxLength: 100 }), publishArb, opcodeArb);

let relay: Relay;
let url: string;
let observers: TestClient[];
let good: TestClient;
beforeAll(async () => {
  ({ relay, url } = await startRelay({
    retention: false,
    rateLimit: { frames: { perSecond: 1e6, burst: 1e6 }, subscriptions: { perSecond: 1e6, burst: 1e6 } },
  }));
  observers = [await connect(url), await connect(url)];
  await observers[0]!.subscribe('t1');
  await observers[1]!.subscribe('t2');
  good = await connect(url);
});
afterAll(async () => {
  await Promise.all([...observers, good].map((c) => c.close()));
  await relay.close();
});

describe('fuzz', () => {
  it('the decoder never throws on any input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (m) => void decodeInbound(m)), { numRuns: 2_000 });
  });

  it('garbage never crashes the relay nor reaches other clients; well-formed PUBLISHes do, exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { maxLength: 25 }), async (messages) => {
        for (const o of observers) o.received.length = 0;
        const attacker = await connect(url);
        for (const m of messages) attacker.sendRaw(m);
        // Markers from a third client: once seen, every earlier attacker message was processed.
        for (const [i, topic] of TOPICS.entries()) await roundTrip(good, observers[i]!, topic);
        await attacker.close();
        for (const [i, topic] of TOPICS.entries()) {
          const expected = messages.flatMap((m) => {
            const p = published(m);
            return p !== undefined && p.topic === topic ? [Buffer.from(p.frame).toString('hex')] : [];
          });
          const got = observers[i]!.received.flatMap((r) =>
            r.kind === 'deliver' && !Buffer.from(r.frame).toString().startsWith('marker-') ? [Buffer.from(r.frame).toString('hex')] : [],
          );
          expect(got).toEqual(expected);
          expect(observers[i]!.received.every((r) => r.kind === 'deliver' && r.topic === topic)).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
    await waitFor(() => relay.metrics().connections === 3);
  });
});
