/**
 * An in-memory network for tests and demos, with an adversary in the middle (docs/ADAPTERS.md §4).
 *
 * Every published frame is recorded in `network.log` and passed to the adversary, which decides what each
 * subscriber of the topic receives and when: deliver, drop, duplicate, delay (and so reorder), or tamper.
 * `inject` and `replay` put arbitrary or recorded frames on a topic, as a hostile relay would.
 *
 * `network.counters` counts the traffic (frames and bytes published, deliveries and bytes delivered, frames
 * by kind) for the growth benchmark (bench/growth.ts); `resetCounters()` starts them over.
 */
import { fail } from './errors.js';
import type { FrameHandler, Transport, TransportState, Unsubscribe } from './transport.js';
import { TransportStateCell } from './transport-state.js';

/** A frame published on (or injected into) a MemoryNetwork. */
export interface Packet {
  /** Position in network.log. */
  readonly seq: number;
  /** The topic it was published on. */
  readonly topic: string;
  /** The frame (a copy). */
  readonly frame: Uint8Array;
  /** Which transport published it (its index), or -1 for injected frames. */
  readonly from: number;
}

/** One delivery chosen by the adversary: this frame (possibly modified), after `delayMs` (0: next microtask). */
export interface Delivery {
  /** The frame to deliver. */
  frame: Uint8Array;
  /** Delay in milliseconds (0 or absent: the next microtask). */
  delayMs?: number;
}

/** Decides the deliveries of one packet to one subscriber. Return [] to drop it. */
export type Adversary = (packet: Packet, subscriber: number) => Delivery[];

/** The adversary that delivers every frame once, unchanged. */
export const passThrough: Adversary = (p) => [{ frame: p.frame }];

/** Fault rates of randomFaults(). */
export interface FaultOptions {
  /** Probability of dropping a delivery. */
  drop?: number;
  /** Probability of delivering it twice. */
  duplicate?: number;
  /** Each delivery is delayed by a uniform time in [0, maxDelayMs], which reorders them. */
  maxDelayMs?: number;
  /** Seed for the deterministic PRNG (mulberry32). */
  seed?: number;
}

/** A seeded adversary that drops, duplicates and delays at random (deterministic for a seed). */
export function randomFaults(opts: FaultOptions): Adversary {
  let s = (opts.seed ?? 1) >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const delay = () => Math.floor(rand() * ((opts.maxDelayMs ?? 0) + 1));
  return (p) => {
    if (rand() < (opts.drop ?? 0)) return [];
    const out: Delivery[] = [{ frame: p.frame, delayMs: delay() }];
    if (rand() < (opts.duplicate ?? 0)) out.push({ frame: p.frame, delayMs: delay() });
    return out;
  };
}

/** Options of MemoryNetwork.connect(). */
export interface MemoryTransportOptions {
  /** Largest frame publish() accepts (default 64 KiB). */
  maxFrameBytes?: number;
  /** Whether a transport receives its own frames (default true, like most pub/sub services). */
  selfEcho?: boolean;
}

/** What the network has carried since it was created or since resetCounters(). */
export interface NetworkCounters {
  /** Frames published by the network's transports (injected and replayed frames are not publications). */
  framesPublished: number;
  bytesPublished: number;
  /** One per frame handed to one subscriber (a frame x its receivers, including the publisher's echo). */
  deliveries: number;
  bytesDelivered: number;
  /** Frames published, by frame kind (the envelope's third element, docs/PROTOCOL.md §4); 0: not readable. */
  framesByKind: Record<number, number>;
}

function zeroCounters(): NetworkCounters {
  return { framesPublished: 0, bytesPublished: 0, deliveries: 0, bytesDelivered: 0, framesByKind: {} };
}

/**
 * The frame kind without decoding the frame: the envelope is a msgpack array whose first three elements
 * (version, suite, kind) are small integers, each one byte (positive fixint). Anything else gives 0.
 */
export function frameKindOf(frame: Uint8Array): number {
  const isFixArray = frame.length >= 4 && (frame[0]! & 0xf0) === 0x90;
  if (!isFixArray || frame[1]! > 0x7f || frame[2]! > 0x7f || frame[3]! > 0x7f) return 0;
  return frame[3]!;
}

interface Subscription {
  topic: string;
  owner: number;
  onFrame: FrameHandler;
}

/** An in-memory pub/sub network whose transports share one adversary. */
export class MemoryNetwork {
  /** Every published frame, in order. */
  readonly log: Packet[] = [];
  /** Decides every delivery (default passThrough); may be replaced at any time. */
  adversary: Adversary = passThrough;
  /** Publication and delivery counts since creation or resetCounters(). */
  readonly counters: NetworkCounters = zeroCounters();
  #subs = new Set<Subscription>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #transports = 0;
  #inFlight = 0;
  #gapListeners = new Set<{ owner: number; fn: (topic: string) => void }>();

  /** A new transport attached to this network. */
  connect(opts: MemoryTransportOptions = {}): Transport {
    return new MemoryTransport(this, this.#transports++, opts);
  }

  /** Delivers an arbitrary frame to every subscriber of the topic, as a hostile relay could. */
  inject(topic: string, frame: Uint8Array): void {
    this.route({ seq: this.log.length, topic, frame, from: -1 }, false);
  }

  /** Delivers a recorded frame again (to everyone, its publisher included). */
  replay(seq: number): void {
    const p = this.log[seq];
    if (p === undefined) throw new RangeError(`no packet ${seq}`);
    this.route({ ...p, from: -1 }, false);
  }

  /**
   * Tells every transport subscribed to `topic` that frames on it may have been missed (the transport
   * contract's gap signal, docs/ADAPTERS.md), as a relay does after a restart or a lost history.
   */
  gap(topic: string): void {
    const owners = new Set([...this.#subs].filter((s) => s.topic === topic).map((s) => s.owner));
    for (const listener of [...this.#gapListeners]) if (owners.has(listener.owner)) listener.fn(topic);
  }

  /** @internal */
  onGap(owner: number, fn: (topic: string) => void): () => void {
    const listener = { owner, fn };
    this.#gapListeners.add(listener);
    return () => this.#gapListeners.delete(listener);
  }

  /** Sets every counter back to zero. */
  resetCounters(): void {
    Object.assign(this.counters, zeroCounters());
  }

  /** Deliveries chosen by the adversary that have not reached their subscriber yet (queued or delayed). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Waits until every delayed delivery has run. */
  async settle(): Promise<void> {
    for (let i = 0; i < 1000 && this.#timers.size > 0; i++) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 0));
  }

  /** @internal */
  add(sub: Subscription): void {
    this.#subs.add(sub);
  }
  /** @internal */
  remove(sub: Subscription): void {
    this.#subs.delete(sub);
  }

  /** @internal */
  publish(topic: string, frame: Uint8Array, from: number, selfEcho: boolean): void {
    const packet: Packet = { seq: this.log.length, topic, frame: frame.slice(), from };
    this.log.push(packet);
    const c = this.counters;
    const kind = frameKindOf(frame);
    c.framesPublished++;
    c.bytesPublished += frame.length;
    c.framesByKind[kind] = (c.framesByKind[kind] ?? 0) + 1;
    this.route(packet, !selfEcho);
  }

  private route(packet: Packet, skipSelf: boolean): void {
    for (const sub of this.#subs) {
      if (sub.topic !== packet.topic || (skipSelf && sub.owner === packet.from)) continue;
      for (const d of this.adversary(packet, sub.owner)) {
        const copy = d.frame.slice(); // each subscriber gets its own bytes
        this.#inFlight++;
        const deliver = () => {
          this.#inFlight--;
          if (!this.#subs.has(sub)) return;
          this.counters.deliveries++;
          this.counters.bytesDelivered += copy.length;
          sub.onFrame(copy);
        };
        if (!d.delayMs) queueMicrotask(deliver);
        else {
          const t = setTimeout(() => {
            this.#timers.delete(t);
            deliver();
          }, d.delayMs);
          this.#timers.add(t);
        }
      }
    }
  }
}

class MemoryTransport implements Transport {
  readonly maxFrameBytes: number;
  #state = new TransportStateCell('open');
  #subs = new Set<Subscription>();

  constructor(
    private readonly network: MemoryNetwork,
    private readonly index: number,
    private readonly opts: MemoryTransportOptions,
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? 1024 * 1024;
  }

  get state(): TransportState {
    return this.#state.value;
  }

  async subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
    this.assertOpen();
    if (typeof topic !== 'string' || topic.length === 0) throw fail('E_INVALID_ARGUMENT', 'topic must be a non-empty string');
    if (typeof onFrame !== 'function') throw fail('E_INVALID_ARGUMENT', 'onFrame must be a function');
    const sub: Subscription = { topic, owner: this.index, onFrame };
    this.#subs.add(sub);
    this.network.add(sub);
    return async () => {
      this.#subs.delete(sub);
      this.network.remove(sub);
    };
  }

  async publish(topic: string, frame: Uint8Array): Promise<void> {
    this.assertOpen();
    if (!(frame instanceof Uint8Array)) throw fail('E_INVALID_ARGUMENT', 'frame must be a Uint8Array');
    if (frame.length > this.maxFrameBytes) throw fail('E_FRAME_TOO_LARGE', `frame exceeds ${this.maxFrameBytes} bytes`);
    this.network.publish(topic, frame, this.index, this.opts.selfEcho ?? true);
  }

  onStateChange(listener: (s: TransportState) => void): () => void {
    return this.#state.listen(listener);
  }

  onGap(listener: (topic: string) => void): () => void {
    return this.network.onGap(this.index, listener);
  }

  async close(): Promise<void> {
    if (this.#state.value === 'closed') return;
    for (const sub of this.#subs) this.network.remove(sub);
    this.#subs.clear();
    this.#state.set('closed');
    this.#state.clear();
  }

  private assertOpen(): void {
    if (this.#state.value === 'closed') throw fail('E_CLOSED', 'transport is closed');
  }
}

/** A new, empty MemoryNetwork. */
export function createMemoryNetwork(): MemoryNetwork {
  return new MemoryNetwork();
}
