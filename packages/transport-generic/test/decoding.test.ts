/**
 * Incoming messages are untrusted: whatever the signaler hands over, the transport never throws into it;
 * bad messages are counted and reported as typed errors, and good ones still flow. Unit tests use a small
 * in-memory signaler; the last test sends garbage through a real socket.io relay.
 */
import { SealsigError, toBase64Url } from '@sealsig/core';
import fc from 'fast-check';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGenericTransport, type Encoding, type GenericTransportOptions } from '../src/index.js';
import { startRelay, type Relay } from './relay.js';
import { socketIoTransport } from './socket-io-transport.js';

/** A signaler whose incoming side the test drives by hand. */
function fakeSignaler(encoding: Encoding, extra: Partial<GenericTransportOptions> = {}) {
  let listener: ((topic: unknown, data: unknown) => void) | undefined;
  const sent: [string, Uint8Array | string][] = [];
  const errors: SealsigError[] = [];
  const transport = createGenericTransport({
    encoding,
    maxFrameBytes: 1024,
    send: (topic, data) => void sent.push([topic, data]),
    onMessage: (l) => ((listener = l), () => (listener = undefined)),
    onError: (e) => errors.push(e),
    ...extra,
  });
  return { transport, sent, errors, deliver: (topic: unknown, data: unknown) => listener?.(topic, data), attached: () => listener !== undefined };
}

describe('incoming decoding (in-memory signaler)', () => {
  it('base64url: strict decoding with a size limit checked before decoding', async () => {
    const s = fakeSignaler('base64url');
    const got: Uint8Array[] = [];
    await s.transport.subscribe('topic', (f) => got.push(f));
    s.deliver('topic', toBase64Url(new Uint8Array([1, 2, 3, 250])));
    s.deliver('topic', 'AQID+A'); // '+' is base64, not base64url
    s.deliver('topic', 'AQIDBA=='); // padding
    s.deliver('topic', 'AQIDBB'); // non-zero trailing bits: not canonical
    s.deliver('topic', 'A'); // impossible length
    s.deliver('topic', new Uint8Array([1])); // bytes on a text channel
    s.deliver('topic', 'A'.repeat(2000)); // 1,500 bytes > 1,024: refused before decoding
    s.deliver(42, 'AQID'); // not a topic
    s.deliver('other', 'AQID'); // not subscribed: ignored, not an error
    expect(got).toEqual([new Uint8Array([1, 2, 3, 250])]);
    expect(s.transport.stats).toEqual({ malformed: 6, tooLarge: 1, ignored: 1 });
    expect(s.errors.map((e) => e.code)).toEqual([...Array(5).fill('E_FRAME_MALFORMED'), 'E_FRAME_TOO_LARGE', 'E_FRAME_MALFORMED']);
  });

  it('binary: accepts Uint8Array, Buffer, ArrayBuffer and views, as plain copies', async () => {
    const s = fakeSignaler('binary');
    const got: Uint8Array[] = [];
    await s.transport.subscribe('t', (f) => got.push(f));
    const buf = Buffer.from([9, 8, 7]);
    s.deliver('t', buf);
    s.deliver('t', new Uint8Array([1, 2]).buffer);
    s.deliver('t', new DataView(new Uint8Array([0, 5, 6, 0]).buffer, 1, 2));
    s.deliver('t', 'text');
    s.deliver('t', new Uint8Array(1025));
    buf[0] = 0; // the signaler reuses its buffer: the delivered frame must not change
    expect(got).toEqual([new Uint8Array([9, 8, 7]), new Uint8Array([1, 2]), new Uint8Array([5, 6])]);
    expect(got.every((f) => Object.getPrototypeOf(f) === Uint8Array.prototype)).toBe(true);
    expect(s.transport.stats).toMatchObject({ malformed: 1, tooLarge: 1 });
  });

  it('never throws into the signaler, whatever arrives (property)', async () => {
    for (const encoding of ['binary', 'base64url'] as Encoding[]) {
      const s = fakeSignaler(encoding);
      await s.transport.subscribe('t', () => undefined);
      fc.assert(
        fc.property(fc.oneof(fc.constant('t'), fc.anything()), fc.oneof(fc.string(), fc.uint8Array({ maxLength: 2048 }), fc.anything()), (topic, data) => {
          s.deliver(topic, data);
        }),
        { numRuns: 300 },
      );
    }
  });

  it('a throwing subscriber does not reach the signaler or the other subscribers', async () => {
    const s = fakeSignaler('binary');
    const got: Uint8Array[] = [];
    const thrown: unknown[] = [];
    const onUncaught = (e: unknown) => thrown.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      await s.transport.subscribe('t', () => {
        throw new Error('app bug');
      });
      await s.transport.subscribe('t', (f) => got.push(f));
      expect(() => s.deliver('t', new Uint8Array([1]))).not.toThrow();
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(got).toEqual([new Uint8Array([1])]);
    expect(thrown.map(String)).toEqual(['Error: app bug']);
  });

  it('send failures reject with E_TRANSPORT; join failures with E_TRANSPORT and can be retried', async () => {
    let joins = 0;
    const s = fakeSignaler('binary', {
      send: () => Promise.reject(new Error('socket gone')),
      subscribe: () => {
        if (joins++ === 0) throw new Error('join refused');
      },
    });
    await expect(s.transport.publish('t', new Uint8Array(1))).rejects.toMatchObject({ code: 'E_TRANSPORT' });
    await expect(s.transport.subscribe('t', () => undefined)).rejects.toMatchObject({ code: 'E_TRANSPORT' });
    await expect(s.transport.subscribe('t', () => undefined)).resolves.toBeTypeOf('function');
    expect(joins).toBe(2);
  });

  it('close() detaches from the signaler, leaves every topic and runs onClose once', async () => {
    const left: string[] = [];
    let closed = 0;
    const s = fakeSignaler('binary', { unsubscribe: (t) => void left.push(t), onClose: () => void closed++ });
    await s.transport.subscribe('a', () => undefined);
    await s.transport.subscribe('b', () => undefined);
    await Promise.all([s.transport.close(), s.transport.close()]);
    expect(s.attached()).toBe(false);
    expect(left.sort()).toEqual(['a', 'b']);
    expect(closed).toBe(1);
  });

  it('rejects bad options with E_INVALID_ARGUMENT', () => {
    const ok = { send: () => undefined, onMessage: () => () => undefined };
    for (const bad of [null, {}, { ...ok, encoding: 'hex' }, { ...ok, maxFrameBytes: 0 }, { ...ok, subscribe: 'join' }]) {
      expect(() => createGenericTransport(bad as GenericTransportOptions)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    }
  });
});

describe('garbage through a real socket.io relay', () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(() => relay.close());

  it('is counted and dropped while real frames keep flowing', async () => {
    const { transport } = socketIoTransport(relay.url, 'base64url');
    const sender = socketIoTransport(relay.url, 'base64url');
    const raw = connect(relay.url, { transports: ['websocket'], forceNew: true });
    try {
      const got: Uint8Array[] = [];
      await transport.subscribe('room', (f) => got.push(f));
      raw.emit('frame', 'room', 'not base64url!');
      raw.emit('frame', 'room', 'AQIDBB');
      raw.emit('frame', 'room', 'AQID='); // the relay drops non-text itself; this one is padded
      await sender.transport.publish('room', new Uint8Array([7, 7, 7]));
      await expect.poll(() => got.length).toBe(1);
      expect(got[0]).toEqual(new Uint8Array([7, 7, 7]));
      await expect.poll(() => transport.stats.malformed).toBe(3);
    } finally {
      raw.disconnect();
      await Promise.all([transport.close(), sender.transport.close()]);
    }
  });
});
