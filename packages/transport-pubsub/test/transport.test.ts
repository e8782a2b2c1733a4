/**
 * createPubSubTransport() over an in-memory PubSubClient (a unit test: the bindings are tested against the
 * real services in the other files). Checks what the real services cannot provoke on demand: hostile
 * messages on a channel, chunking through a tiny text-only limit, a client that never takes a message.
 */
import { describe, expect, it } from 'vitest';
import type { SealsigError } from '@sealsig/core';
import { createPubSubTransport, encodeText } from '../src/index.js';
import type { PubSubClient, PubSubMessage } from '../src/index.js';

/** A tiny in-memory pub/sub service; `inject` delivers raw messages as a hostile service would. */
class MemoryService {
  readonly channels = new Map<string, Set<(m: PubSubMessage) => void>>();
  readonly published: { channel: string; message: PubSubMessage }[] = [];
  inject(channel: string, message: PubSubMessage): void {
    for (const h of [...(this.channels.get(channel) ?? [])]) h(message);
  }
  client(options: { binary: boolean; maxMessageBytes: number; hangPublish?: boolean }): PubSubClient & { closed: boolean } {
    const self = this;
    return {
      binary: options.binary,
      maxMessageBytes: options.maxMessageBytes,
      closed: false,
      async publish(channel, message) {
        if (options.hangPublish) return new Promise<void>(() => undefined);
        if (options.binary ? !(message instanceof Uint8Array) : typeof message !== 'string') throw new Error('wrong message type');
        if ((typeof message === 'string' ? message.length : message.length) > options.maxMessageBytes) throw new Error('message too large');
        self.published.push({ channel, message });
        queueMicrotask(() => self.inject(channel, message));
      },
      async subscribe(channel, handler) {
        let set = self.channels.get(channel);
        if (!set) self.channels.set(channel, (set = new Set()));
        set.add(handler);
        return async () => void set.delete(handler);
      },
      async close() {
        this.closed = true;
      },
      checkChannel: (channel) => (channel.includes('#') ? 'no #' : undefined),
    };
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('createPubSubTransport', () => {
  it('chunks frames above a text service limit and reassembles them byte-exact', async () => {
    const service = new MemoryService();
    const t = createPubSubTransport(service.client({ binary: false, maxMessageBytes: 200 }), { maxFrameBytes: 4096 });
    const got: Uint8Array[] = [];
    await t.subscribe('topic', (f) => got.push(f));
    const frame = crypto.getRandomValues(new Uint8Array(4096));
    await t.publish('topic', frame);
    await tick();
    expect(got).toEqual([frame]);
    expect(service.published.every((p) => typeof p.message === 'string' && p.message.length <= 200)).toBe(true);
    expect(t.stats.messagesOut).toBe(Math.ceil(4096 / (150 - 17)));
    expect(t.stats.pendingFrames).toBe(0);
    await t.close();
  });

  it('drops hostile messages with counted, reported typed errors and keeps delivering', async () => {
    const service = new MemoryService();
    const errors: SealsigError[] = [];
    const t = createPubSubTransport(service.client({ binary: false, maxMessageBytes: 1000 }), { maxFrameBytes: 1000, onError: (e) => errors.push(e) });
    const got: Uint8Array[] = [];
    await t.subscribe('topic', (f) => got.push(f));
    const channel = 'sealsig.topic';
    service.inject(channel, 'not base64!'); // E_FRAME_MALFORMED
    service.inject(channel, 'A'.repeat(10_000)); // E_FRAME_TOO_LARGE, refused before decoding
    service.inject(channel, new Uint8Array([0, 1]) as unknown as string); // bytes on a text service
    service.inject(channel, encodeText(new Uint8Array([7, 1, 2]))); // unknown kind byte
    service.inject(channel, encodeText(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 10, 1]))); // 65535 chunks for 10 bytes
    expect(errors.map((e) => e.code)).toEqual(['E_FRAME_MALFORMED', 'E_FRAME_TOO_LARGE', 'E_FRAME_MALFORMED', 'E_FRAME_MALFORMED', 'E_FRAME_MALFORMED']);
    expect(t.stats.dropped).toEqual({ E_FRAME_MALFORMED: 4, E_FRAME_TOO_LARGE: 1 });
    await t.publish('topic', new Uint8Array([1, 2, 3]));
    await tick();
    expect(got).toEqual([new Uint8Array([1, 2, 3])]);
    await t.close();
  });

  it('isolates a throwing handler and a throwing error listener', async () => {
    const service = new MemoryService();
    const t = createPubSubTransport(service.client({ binary: true, maxMessageBytes: 1000 }));
    t.onError(() => {
      throw new Error('listener bug');
    });
    const got: Uint8Array[] = [];
    await t.subscribe('topic', () => {
      throw new Error('handler bug');
    });
    await t.subscribe('topic', (f) => got.push(f));
    expect(() => service.inject('sealsig.topic', new Uint8Array([5]))).not.toThrow();
    expect(() => service.inject('sealsig.topic', new Uint8Array([0, 9]))).not.toThrow();
    expect(got).toEqual([new Uint8Array([9])]);
    await t.close();
  });

  it('rejects with E_TRANSPORT when the client never takes a message, and validates names', async () => {
    const service = new MemoryService();
    const t = createPubSubTransport(service.client({ binary: true, maxMessageBytes: 1000, hangPublish: true }), { publishTimeoutMs: 50 });
    await expect(t.publish('topic', new Uint8Array(1))).rejects.toMatchObject({ code: 'E_TRANSPORT' });
    await expect(t.publish('to/pic', new Uint8Array(1))).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(t.subscribe('a.b', () => undefined)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(t.subscribe('x'.repeat(129), () => undefined)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(() => createPubSubTransport(service.client({ binary: true, maxMessageBytes: 1000 }), { prefix: 'a#' })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    expect(() => createPubSubTransport(service.client({ binary: true, maxMessageBytes: 10 }))).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    await t.close();
  });

  it('close() closes the client, drops pending reassembly and ends in state closed', async () => {
    const service = new MemoryService();
    const client = service.client({ binary: true, maxMessageBytes: 100 });
    const t = createPubSubTransport(client);
    const states: string[] = [];
    t.onStateChange((s) => states.push(s));
    await t.subscribe('topic', () => undefined);
    // The first chunk of a frame whose rest never comes.
    service.inject('sealsig.topic', new Uint8Array([1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 0, 0, 0, 4, 1, 2]));
    expect(t.stats.pendingFrames).toBe(1);
    await t.close();
    expect(t.stats.pendingFrames).toBe(0);
    expect(client.closed).toBe(true);
    expect(service.channels.get('sealsig.topic')?.size).toBe(0);
    expect(states).toEqual(['closed']);
    expect(t.state).toBe('closed');
  });
});

describe('delivered frames', () => {
  it('are plain Uint8Array copies, never views of the library buffer', async () => {
    const service = new MemoryService();
    const t = createPubSubTransport(service.client({ binary: true, maxMessageBytes: 1000 }));
    const got: Uint8Array[] = [];
    await t.subscribe('topic', (f) => got.push(f));
    const pooled = Buffer.from([0, 1, 2, 3]);
    service.inject('sealsig.topic', pooled);
    pooled.fill(9); // the library reuses its buffer
    expect(got[0]).toEqual(new Uint8Array([1, 2, 3]));
    expect(Object.getPrototypeOf(got[0])).toBe(Uint8Array.prototype);
    await t.close();
  });
});
