/**
 * LIMITS (PROTOCOL-RELAY.md §3.5): every admitted connection is told its rate limits and largest frame first,
 * exactly as configured; the codec round-trips and its decoder survives any bytes.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../src/index.js';
import { LIMITS_BYTES, Op, decodeOutbound, encodeLimits } from '../src/protocol.js';
import { connect, startRelay, waitFor, type TestClient } from './helpers.js';

let relay: Relay | undefined;
let clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await relay?.close();
  relay = undefined;
});

describe('LIMITS', () => {
  it('announces the configured limits as the first message of a connection', async () => {
    const r = await startRelay({
      maxFrameBytes: 4_096,
      rateLimit: { frames: { perSecond: 20, burst: 5 }, subscriptions: { perSecond: 2.5, burst: 7 } },
    });
    relay = r.relay;
    const c = await connect(r.url);
    clients.push(c);
    await waitFor(() => c.limits.length === 1, 5_000, 'LIMITS');
    expect(c.limits).toEqual([{ publish: { perSecond: 20, burst: 5 }, subscribe: { perSecond: 2.5, burst: 7 }, maxFrameBytes: 4_096 }]);
    expect(c.received).toEqual([]); // nothing else unasked
  });

  it('announces the defaults of PROTOCOL-RELAY.md §4', async () => {
    const r = await startRelay();
    relay = r.relay;
    const c = await connect(r.url);
    clients.push(c);
    await waitFor(() => c.limits.length === 1, 5_000, 'LIMITS');
    expect(c.limits[0]).toEqual({ publish: { perSecond: 100, burst: 200 }, subscribe: { perSecond: 20, burst: 128 }, maxFrameBytes: 65_536 });
    expect(encodeLimits(c.limits[0]!).toString('hex')).toBe('15000186a0000000c800004e20000000800001' + '0000'); // the spec's example
  });

  it('round-trips whole and thousandth rates; rounds down, never to 0', () => {
    const milli = fc.integer({ min: 1, max: 2 ** 32 - 1 });
    const whole = fc.integer({ min: 1, max: 2 ** 32 - 1 });
    const rate = fc.record({ perSecond: milli.map((m) => m / 1000), burst: whole });
    fc.assert(
      fc.property(rate, rate, whole, (publish, subscribe, maxFrameBytes) => {
        const m = encodeLimits({ publish, subscribe, maxFrameBytes });
        expect(m.length).toBe(LIMITS_BYTES);
        expect(decodeOutbound(m)).toEqual({ kind: 'limits', limits: { publish, subscribe, maxFrameBytes } });
      }),
    );
    const odd = decodeOutbound(encodeLimits({ publish: { perSecond: 0.0001, burst: 2.9 }, subscribe: { perSecond: 1e12, burst: 1 }, maxFrameBytes: 1 }));
    expect(odd).toEqual({ kind: 'limits', limits: { publish: { perSecond: 0.001, burst: 2 }, subscribe: { perSecond: (2 ** 32 - 1) / 1000, burst: 1 }, maxFrameBytes: 1 } });
  });

  it('decodes any bytes after the opcode without throwing: LIMITS only at 21 bytes with no zero field', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (tail) => {
        const m = new Uint8Array([Op.limits, ...tail]);
        const d = decodeOutbound(m);
        const zero = [1, 5, 9, 13, 17].some((at) => m.length === LIMITS_BYTES && m[at]! + m[at + 1]! + m[at + 2]! + m[at + 3]! === 0);
        expect(d.kind).toBe(m.length === LIMITS_BYTES && !zero ? 'limits' : 'invalid');
      }),
    );
  });
});
