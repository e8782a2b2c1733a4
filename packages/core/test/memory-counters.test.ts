import { describe, expect, it } from 'vitest';
import { frameKindOf } from '../src/memory-transport.js';
import {
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  createMemoryNetwork,
  encodeFrame,
  encodeHeader,
  randomBytes,
  type Header,
} from '../src/index.js';

function frame(kind: Header['kind'], bodyBytes: number): Uint8Array {
  const header: Header = {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    kind,
    route: randomBytes(16),
    sender: randomBytes(16),
    instance: randomBytes(8),
    recipient: kind === FrameKind.broadcast ? null : randomBytes(16),
    epoch: 0,
    counter: 0,
    timestamp: 1_760_000_000_000,
  };
  return encodeFrame(encodeHeader(header), randomBytes(bodyBytes));
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('memory network counters', () => {
  it('counts frames and bytes published, deliveries and bytes delivered, frames by kind', async () => {
    const net = createMemoryNetwork();
    const [a, b, c] = [net.connect(), net.connect(), net.connect({ selfEcho: false })];
    let received = 0;
    for (const t of [a, b, c]) await t.subscribe('room', () => received++);
    await b.subscribe('other', () => received++);

    const init = frame(FrameKind.handshakeInit, 100);
    const direct = frame(FrameKind.direct, 300);
    // publish() hands the frame to the network before its first await: the deliveries are queued at once.
    const published = [
      a.publish('room', init), // to a (echo), b, c
      c.publish('room', direct), // to a, b; not c (no echo)
      a.publish('other', direct), // to b only
    ];
    expect(net.inFlight).toBe(6);
    await Promise.all(published);
    await tick();

    expect(received).toBe(6);
    expect(net.inFlight).toBe(0);
    expect(net.counters).toEqual({
      framesPublished: 3,
      bytesPublished: init.length + 2 * direct.length,
      deliveries: 6,
      bytesDelivered: 3 * init.length + 3 * direct.length,
      framesByKind: { [FrameKind.handshakeInit]: 1, [FrameKind.direct]: 2 },
    });
  });

  it('counts what the adversary delivers, not what was published', async () => {
    const net = createMemoryNetwork();
    const [a, b] = [net.connect(), net.connect()];
    await a.subscribe('room', () => {});
    await b.subscribe('room', () => {});
    net.adversary = (p, subscriber) => (subscriber === 0 ? [] : [{ frame: p.frame }, { frame: p.frame.subarray(0, 10) }]);
    const f = frame(FrameKind.broadcast, 50);
    await a.publish('room', f);
    await tick();
    expect(net.counters.deliveries).toBe(2);
    expect(net.counters.bytesDelivered).toBe(f.length + 10);
    expect(net.counters.framesByKind).toEqual({ [FrameKind.broadcast]: 1 });
  });

  it('counts injected and replayed frames as deliveries only, and not deliveries to closed transports', async () => {
    const net = createMemoryNetwork();
    const [a, b] = [net.connect(), net.connect()];
    await a.subscribe('room', () => {});
    await b.subscribe('room', () => {});
    const f = frame(FrameKind.handshakeResp, 10);
    const published = a.publish('room', f);
    const closed = b.close(); // unsubscribes at once, while its delivery is still queued: not delivered, not counted
    await Promise.all([published, closed]);
    await tick();
    expect(net.counters.deliveries).toBe(1);
    net.inject('room', f);
    net.replay(0);
    await tick();
    expect(net.counters.framesPublished).toBe(1);
    expect(net.counters.deliveries).toBe(3);
  });

  it('resets every counter in place', async () => {
    const net = createMemoryNetwork();
    const a = net.connect();
    await a.subscribe('room', () => {});
    const counters = net.counters;
    await a.publish('room', frame(FrameKind.direct, 10));
    await tick();
    net.resetCounters();
    expect(net.counters).toBe(counters);
    expect(counters).toEqual({ framesPublished: 0, bytesPublished: 0, deliveries: 0, bytesDelivered: 0, framesByKind: {} });
  });

  it('reads the frame kind from the first bytes, 0 when they are not an envelope head', () => {
    for (const kind of Object.values(FrameKind)) expect(frameKindOf(frame(kind, 1))).toBe(kind);
    expect(frameKindOf(new Uint8Array([0x9b, 1, 1]))).toBe(0);
    expect(frameKindOf(new Uint8Array([0xdc, 0, 11, 1]))).toBe(0);
    expect(frameKindOf(new Uint8Array([0x9b, 1, 0xcc, 200]))).toBe(0);
  });
});
