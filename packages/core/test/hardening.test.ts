/**
 * The findings of the adversarial review of protocol v1 (issue 9, "Hardening"), one block each, plus the two
 * API defects found by a new user. Each test failed on v1.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { equalBytes, fromBase64Url } from '../src/bytes.js';

const compareBytes = (x: Uint8Array, y: Uint8Array) => Buffer.compare(x, y);
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, decodeFrame, encodeFrame, encodeHeader, type Header } from '../src/envelope.js';
import type { SealsigError } from '../src/errors.js';
import { HoldBuffer } from '../src/hold-buffer.js';
import { isLowOrderX25519 } from '../src/low-order.js';
import { createMemoryNetwork, passThrough, type MemoryNetwork } from '../src/memory-transport.js';
import { joinSession, type Identity, type Session, type SessionOptions } from '../src/session.js';
import { ed25519KeyPair, publicKeyOps, randomBytes, ready, resetPublicKeyOps, x25519KeyPair } from '../src/sodium.js';
import { BroadcastType, sealBroadcast } from '../src/broadcast.js';
import { createSessionId, deriveEpochKeys, deriveSession } from '../src/kdf.js';
import type { Transport } from '../src/transport.js';
import { errorsOf, sealHelloAs, waitFor } from './helpers.js';
import { isCandidate, isDescription } from '../src/signal.js';

beforeAll(async () => {
  await ready();
});

const open: Session[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function join(net: MemoryNetwork, sessionId: string, opts: Partial<SessionOptions> = {}): Promise<Session> {
  const s = await joinSession({ sessionId, transport: net.connect(), ...opts });
  open.push(s);
  return s;
}

async function pairOn(net: MemoryNetwork, opts: Partial<SessionOptions> = {}) {
  const sessionId = createSessionId();
  const a = await join(net, sessionId, opts);
  const b = await join(net, sessionId, opts);
  await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
  return { sessionId, a, b };
}

const kindOf = (frame: Uint8Array) => decodeFrame(frame).header.kind;
const bytesOf = (b64: string) => fromBase64Url(b64)!;

/** A header with the clear fields an observer of the transport sees. */
function header(s: Session, over: Partial<Header> & Pick<Header, 'kind' | 'sender' | 'instance'>): Header {
  return {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    route: fromBase64Url(s.topic)!,
    recipient: null,
    epoch: 0,
    counter: 0,
    timestamp: Date.now(),
    ...over,
  };
}


describe('1. one injected handshake-resp does not kill the handshake', () => {
  it('a garbage resp carrying the responder clear header fields, delivered first, leaves the genuine one acceptable', async () => {
    const net = createMemoryNetwork();
    const { a, b } = await pairOn(net);
    // The injector watches the transport: at A's init to B it injects a same-shaped garbage response, and
    // the genuine response arrives after it.
    net.adversary = (p, sub) => {
      if (p.from >= 0 && kindOf(p.frame) === FrameKind.handshakeInit) {
        const init = decodeFrame(p.frame).header;
        const forged = encodeFrame(
          encodeHeader(header(a, { kind: FrameKind.handshakeResp, sender: init.recipient!, instance: bytesOf(equalBytes(init.sender, bytesOf(a.id)) ? b.instance : a.instance), recipient: init.sender })),
          randomBytes(32 + 16 + 120),
        );
        queueMicrotask(() => net.inject(equalBytes(init.sender, bytesOf(a.id)) ? a.inbox : b.inbox, forged));
      }
      if (p.from >= 0 && kindOf(p.frame) === FrameKind.handshakeResp) return [{ frame: p.frame, delayMs: 5 }];
      return passThrough(p, sub);
    };
    const errors = errorsOf(a);
    b.on('error', (e) => errors.push(e)); // the initiator is the lower member id, a or b
    const got = new Promise<unknown>((r) => b.once('message', (m) => r(m.value)));
    const gotBack = new Promise<unknown>((r) => a.once('message', (m) => r(m.value)));
    await a.send(b.id, 'through');
    expect(await got).toBe('through');
    await b.send(a.id, 'back');
    expect(await gotBack).toBe('back');
    expect(errors.map((e) => e.code)).toContain('E_AUTH_FAILED'); // the forgery, dropped
    expect(errors.map((e) => e.code)).not.toContain('E_HANDSHAKE');
  });
});

describe('2. small-order X25519 keys and handshakes that cannot start', () => {
  it('knows the small-order points, in both encodings of the top bit', () => {
    const zero = new Uint8Array(32);
    expect(isLowOrderX25519(zero)).toBe(true);
    const highBit = zero.slice();
    highBit[31] = 0x80;
    expect(isLowOrderX25519(highBit)).toBe(true);
    expect(isLowOrderX25519(x25519KeyPair().publicKey)).toBe(false);
  });

  it('a hello with an all-zero X25519 key is refused (E_FRAME_MALFORMED); sending to that member fails at once', async () => {
    const net = createMemoryNetwork();
    const { sessionId, b } = await pairOn(net);
    const errors = errorsOf(b);
    const signing = ed25519KeyPair();
    net.inject(b.topic, sealHelloAs(sessionId, signing, [signing.publicKey, new Uint8Array(32), false, null]));
    await waitFor(() => errors.length > 0);
    expect(errors.map((e) => e.code)).toEqual(['E_FRAME_MALFORMED']);
    expect(b.peers).toHaveLength(1);
  });

  it('no send stays pending past handshakeTimeoutMs, even between retries (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const a = await join(net, sessionId, { handshakeRetryMs: 1000, handshakeTimeoutMs: 2500 });
    const b = await join(net, sessionId, { handshakeRetryMs: 1000, handshakeTimeoutMs: 2500 });
    await vi.advanceTimersByTimeAsync(10);
    expect(a.peers).toHaveLength(1);
    net.adversary = (p, sub) => (p.from >= 0 && kindOf(p.frame) !== FrameKind.broadcast ? [] : passThrough(p, sub));
    let outcome: string | undefined;
    a.send(b.id, 'never').then(
      () => (outcome = 'sent'),
      (e: SealsigError) => (outcome = e.code),
    );
    // Retries at 1 s and 3 s (doubling): v1 noticed the timeout only at the 3 s retry.
    await vi.advanceTimersByTimeAsync(2600);
    expect(outcome).toBe('E_HANDSHAKE');
  });
});

describe('3. the hold buffer is bounded in bytes and fair among senders', () => {
  it('a topic writer holds nothing: handshake and direct frames of unknown senders are refused (§8.3, v3)', async () => {
    const net = createMemoryNetwork();
    const b = await join(net, createSessionId());
    const errors = errorsOf(b);
    for (let s = 0; s < 64; s++) {
      const sender = randomBytes(16);
      const instance = randomBytes(8);
      for (let i = 0; i < 16; i++) {
        const kind = i % 2 === 0 ? FrameKind.direct : FrameKind.handshakeInit;
        const h = header(b, { kind, sender, instance, recipient: bytesOf(b.id), counter: i });
        net.inject(b.inbox, encodeFrame(encodeHeader(h), randomBytes(60 * 1024)));
      }
    }
    await net.settle();
    expect(errors.length).toBe(64 * 16);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['E_UNKNOWN_SENDER']));
    expect(b.stats.heldDropped).toBe(0); // refused before the hold buffer: nothing held, nothing evicted
  });

  it('a member fabricating 64 senders x 16 broadcasts x 60 KiB pins at most maxHeldBytes; a genuine early sender keeps its frames', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const b = await join(net, sessionId);
    // C's hello is held back, so C's first broadcasts reach B ahead of it (B holds them, §8.3).
    let holdHello = true;
    const heldHellos: Uint8Array[] = [];
    net.adversary = (p, sub) => {
      if (holdHello && p.from === 1 && decodeFrame(p.frame).header.kind === FrameKind.broadcast && heldHellos.length === 0) {
        heldHellos.push(p.frame);
        return [];
      }
      return passThrough(p, sub);
    };
    const c = await join(net, sessionId); // B does not know C yet
    const inB: unknown[] = [];
    b.on('message', (m) => inB.push(m.value));
    await c.broadcast('early 1');
    await c.broadcast('early 2');
    // The flood: broadcasts sealed with the session's key (a member can) claiming 64 fabricated senders.
    const keys = deriveSession(sessionId);
    const broadcastKey = deriveEpochKeys(0, keys.roomKey0).broadcastKey;
    const signing = ed25519KeyPair();
    for (let s = 0; s < 64; s++) {
      const sender = randomBytes(16);
      const instance = randomBytes(8);
      for (let i = 0; i < 16; i++) {
        const h = header(b, { kind: FrameKind.broadcast, sender, instance, counter: i });
        net.inject(b.topic, sealBroadcast({ header: h, key: broadcastKey, signingKey: signing.privateKey, type: BroadcastType.app, payload: randomBytes(60 * 1024 - 400) }));
      }
    }
    await net.settle();
    expect(b.stats.heldDropped).toBeGreaterThan(0);
    holdHello = false;
    net.inject(b.topic, heldHellos[0]!);
    await waitFor(() => inB.length === 2);
    expect(inB).toEqual(['early 1', 'early 2']);
  });

  it('property: bytes never exceed the bound; a sender within its share is never refused nor evicted', () => {
    const limits = { maxBytes: 4096, maxSenders: 8, maxFramesPerSender: 16 };
    const share = limits.maxBytes / limits.maxSenders;
    const keys = Array.from({ length: 12 }, (_, i) => String(i));
    fc.assert(
      fc.property(fc.array(fc.record({ sender: fc.integer({ min: 0, max: 11 }), bytes: fc.integer({ min: 1, max: 2000 }) }), { maxLength: 200 }), (adds) => {
        const buf = new HoldBuffer(limits);
        for (const { sender, bytes } of adds) {
          const key = String(sender);
          const before = new Map(keys.map((k) => [k, buf.heldBy(k)]));
          const mine = before.get(key)!;
          const hasSlot = mine.frames > 0 || buf.senders < limits.maxSenders;
          const within = hasSlot && mine.frames < limits.maxFramesPerSender && mine.bytes + bytes <= share;
          let accepted = true;
          try {
            buf.add(key, { decoded: undefined as never, bytes }, Infinity);
          } catch {
            accepted = false;
          }
          if (within) expect(accepted).toBe(true); // within its share: always accepted
          expect(buf.bytes).toBeLessThanOrEqual(limits.maxBytes);
          for (const k of keys) {
            const was = before.get(k)!;
            if (k !== key && was.bytes <= share) expect(buf.heldBy(k)).toEqual(was); // within its share: nothing evicted
          }
        }
      }),
    );
  });
});

describe('5. forged handshake inits claiming a known sender', () => {
  it('cost one MAC each and spend nothing of the pair: no budget, no X25519, no deferral (v3 pair tags, §7.2)', async () => {
    const net = createMemoryNetwork();
    const pair = await pairOn(net, { handshakeRetryMs: 50 });
    // Only the lower member id of a pair initiates (§7.5): the forger claims the lower one, A.
    const [a, b] = compareBytes(bytesOf(pair.a.id), bytesOf(pair.b.id)) < 0 ? [pair.a, pair.b] : [pair.b, pair.a];
    const errorsB = errorsOf(b);
    const got = new Promise<unknown>((r) => b.once('message', (m) => r(m.value)));
    // 200 inits claiming A, each with a fresh "ephemeral": in v2 each cost B two X25519 operations.
    resetPublicKeyOps();
    for (let i = 0; i < 200; i++) {
      const h = header(b, { kind: FrameKind.handshakeInit, sender: bytesOf(a.id), instance: bytesOf(a.instance), recipient: bytesOf(b.id), counter: i });
      net.inject(b.inbox, encodeFrame(encodeHeader(h), randomBytes(16 + 32 + 16 + 130)));
    }
    await net.settle();
    expect(errorsB.map((e) => e.code)).toEqual(Array(200).fill('E_AUTH_FAILED'));
    expect(b.stats.initsDeferred).toBe(0);
    expect(publicKeyOps.x25519).toBe(1); // B's pair key with A, computed once
    await a.send(b.id, 'still works');
    expect(await got).toBe('still works');
  });
});

describe('6. a hello from a known instance with other keys', () => {
  it('is refused (E_FRAME_MALFORMED) and changes nothing: the instance keeps the keys of its first hello', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const identity: Identity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
    const a = await join(net, sessionId, { identity });
    const b = await join(net, sessionId);
    await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
    const errors = errorsOf(b);
    const payload = [identity.signing.publicKey, x25519KeyPair().publicKey, false, null, null];
    net.inject(b.topic, sealHelloAs(sessionId, identity.signing, payload, { instance: bytesOf(a.instance), counter: 1000 }));
    await waitFor(() => errors.length > 0);
    expect(errors.map((e) => e.code)).toEqual(['E_FRAME_MALFORMED']);
    expect(b.peers[0]!.dhKey).toEqual(identity.dh.publicKey);
    const got = new Promise<unknown>((r) => b.once('message', (m) => r(m.value)));
    await a.send(b.id, 'same keys');
    expect(await got).toBe('same keys');
  });
});

describe('API: peer-joined for a listener attached after the await', () => {
  it('hears of every live peer exactly once, then of later joins', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const a = await join(net, sessionId);
    const b = await join(net, sessionId);
    await waitFor(() => b.peers.length === 1);
    const seen: string[] = [];
    b.on('peer-joined', (p) => seen.push(p.id));
    await Promise.resolve();
    expect(seen).toEqual([a.id]);
    const c = await join(net, sessionId);
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([a.id, c.id]);
    // A listener removed before its microtask hears nothing.
    const late: string[] = [];
    const off = b.on('peer-joined', (p) => late.push(p.id));
    off();
    await Promise.resolve();
    expect(late).toEqual([]);
  });

  it('the README pattern: "the lower id offers", listeners attached after the awaits, offers both ways land', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const [a, b] = await Promise.all([join(net, sessionId), join(net, sessionId)]);
    const offers: string[] = [];
    for (const s of [a, b]) {
      s.on('peer-joined', (peer) => {
        if (s.id < peer.id) void s.sendDescription(peer.id, { type: 'offer', sdp: 'v=0\r\n' });
      });
      s.on('signal', (sig) => offers.push(sig.description!.type));
    }
    await waitFor(() => offers.length === 1);
    expect(offers).toEqual(['offer']);
  });
});

describe('API: joinSession when the transport never opens', () => {
  function stuckTransport() {
    const unsubscribed = { count: 0 };
    const pending: (() => void)[] = [];
    const release = () => pending.splice(0).forEach((r) => r());
    const transport: Transport = {
      maxFrameBytes: 65536,
      state: 'connecting',
      subscribe: () =>
        new Promise((resolve) => {
          pending.push(() =>
            resolve(async () => {
              unsubscribed.count++;
            }),
          );
        }),
      publish: () => new Promise(() => {}),
      onStateChange: () => () => {},
      close: async () => {},
    };
    return { transport, unsubscribed, release };
  }

  it('rejects with E_TIMEOUT after joinTimeoutMs, and unsubscribes if the transport subscribes later', async () => {
    const stuck = stuckTransport();
    const joining = joinSession({ sessionId: createSessionId(), transport: stuck.transport, joinTimeoutMs: 50 });
    await expect(joining).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    stuck.release();
    await waitFor(() => stuck.unsubscribed.count === 2); // the session topic and the inbox
  });

  it('rejects with E_ABORTED when the signal aborts (before or during the join)', async () => {
    const before = new AbortController();
    before.abort();
    await expect(joinSession({ sessionId: createSessionId(), transport: stuckTransport().transport, signal: before.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
    const during = new AbortController();
    const joining = joinSession({ sessionId: createSessionId(), transport: stuckTransport().transport, signal: during.signal });
    setTimeout(() => during.abort(), 10);
    await expect(joining).rejects.toMatchObject({ code: 'E_ABORTED' });
  });
});

describe('signal shapes (§7.4): a description or candidate is a map', () => {
  it('refuses arrays, byte strings, timestamps and unsafe line indexes', async () => {
    expect(isCandidate({ candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 })).toBe(true);
    expect(isCandidate([])).toBe(false);
    expect(isCandidate(new Uint8Array(2))).toBe(false);
    expect(isCandidate(new Date(0))).toBe(false);
    expect(isCandidate({ sdpMLineIndex: 2 ** 53 })).toBe(false);
    expect(isDescription(Object.assign([], { type: 'offer' }))).toBe(false);
    expect(isDescription({ type: 'offer', sdp: 'v=0' })).toBe(true);
  });
});
