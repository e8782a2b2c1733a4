/**
 * The memory engine (PROTOCOL-RELAY.md §3.4): one relay node keeps each topic's stream in its own memory. The
 * embedded default. Offsets are (0, n) from one counter for the whole engine, so an offset is never reused
 * for another frame while the engine runs; the epoch is drawn at random when the engine starts, so a client
 * that held a position before a restart learns that it may have missed frames (recovered = false) instead of
 * missing them silently.
 *
 * Bounds: per topic (frames, bytes: a flooding topic only pushes out its own window) and across the engine
 * (topics, bytes: the topic whose last publication is oldest goes first). Frames older than maxAgeMs are
 * dropped. A topic's `low` is the offset after which it still holds everything: the last offset it dropped,
 * or, for a log created after the topic's earlier log was forgotten (or never existed), the highest offset of
 * any forgotten log. A position p of this epoch is recoverable iff low <= p.offset <= the counter. With
 * maxFrames 0 nothing is kept, and no position is recoverable.
 */
import { EPOCH_BYTES, type Engine, type EngineListener, type History, type Offset, type Position, type Publication } from './engine.js';

/** Retention of the memory engine (RelayOptions.retention). */
export interface MemoryEngineOptions {
  /** Frames kept per topic. Default 1000. */
  maxFrames?: number;
  /** Bytes kept per topic. Default 1 MiB. */
  maxBytes?: number;
  /** Age after which a frame is dropped. Default 60 000 ms (clients can resume after outages up to this long). */
  maxAgeMs?: number;
  /** A first subscription (no position) is replayed the frames younger than this. Default 30 000 ms. */
  replayMs?: number;
  /** Topics held across the engine. Default 10 000. */
  maxTopics?: number;
  /** Bytes held across the engine. Default 64 MiB. */
  maxTotalBytes?: number;
}

interface Entry extends Publication {
  readonly at: number;
}

interface TopicLog {
  entries: Entry[];
  /** Index of the first live entry (entries before it were dropped; compacted now and then). */
  head: number;
  bytes: number;
  low: number;
}

export class MemoryEngine implements Engine {
  readonly kind = 'memory';
  readonly available = true;
  readonly epoch = new Uint8Array(EPOCH_BYTES);
  private readonly maxFrames: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly replayMs: number;
  private readonly maxTopics: number;
  private readonly maxTotalBytes: number;
  private readonly logs = new Map<string, TopicLog>(); // in order of last publication, oldest first
  private readonly subscribed = new Set<string>();
  private listener: EngineListener | undefined;
  private counter = 0;
  private total = 0;
  /** The highest offset a forgotten log held (or had dropped): no topic without a log has a frame after it. */
  private forgotten = 0;

  constructor(options: MemoryEngineOptions = {}, private readonly now: () => number = () => performance.now()) {
    this.maxFrames = options.maxFrames ?? 1000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.replayMs = Math.min(options.replayMs ?? 30_000, this.maxAgeMs);
    this.maxTopics = options.maxTopics ?? 10_000;
    this.maxTotalBytes = options.maxTotalBytes ?? 64 * 1024 * 1024;
    globalThis.crypto.getRandomValues(this.epoch);
  }

  get topics(): number {
    return this.logs.size;
  }

  get bytes(): number {
    return this.total;
  }

  start(listener: EngineListener): Promise<void> {
    this.listener = listener;
    return Promise.resolve();
  }

  publish(topic: string, frame: Uint8Array, from: number): Promise<{ epoch: Uint8Array; offset: Offset }> {
    return Promise.resolve({ epoch: this.epoch, offset: this.append(topic, frame, from) });
  }

  /**
   * publish() without the promise: the memory engine stores synchronously, so the relay settles the PUBLISH at
   * once (no promise, closure or microtask per frame). Returns the frame's offset (the epoch is `epoch`).
   */
  append(topic: string, frame: Uint8Array, from: number): Offset {
    const offset: Offset = { ms: 0, seq: ++this.counter };
    const now = this.now();
    // A copy: `frame` may be a view into the socket's read chunk, which a kept view would pin whole (the
    // bounds count frame bytes only).
    if (this.maxFrames > 0 && frame.length <= this.maxBytes) this.keep(topic, { offset, frame: frame.slice(), from, at: now }, now);
    if (this.subscribed.has(topic)) this.listener?.publication(topic, this.epoch, { offset, frame, from });
    return offset;
  }

  subscribe(topic: string): Promise<void> {
    this.subscribed.add(topic);
    return Promise.resolve();
  }

  unsubscribe(topic: string): void {
    this.subscribed.delete(topic);
  }

  history(topic: string, since: Position | undefined): Promise<History> {
    const now = this.now();
    const log = this.logs.get(topic);
    if (log !== undefined) this.expire(log, now);
    // An empty (or absent) log holds every frame of its topic after `low`: none; so the head is "now".
    const head = log === undefined || log.head === log.entries.length ? { ms: 0, seq: this.counter } : log.entries[log.entries.length - 1]!.offset;
    const low = log?.low ?? this.forgotten;
    const recovered =
      this.maxFrames > 0 && since !== undefined && sameEpoch(since.epoch, this.epoch) && since.offset.ms === 0 && since.offset.seq >= low && since.offset.seq <= this.counter;
    const publications: Publication[] = [];
    if (log !== undefined) {
      for (let i = log.head; i < log.entries.length; i++) {
        const e = log.entries[i]!;
        if (recovered ? e.offset.seq > since.offset.seq : now - e.at <= this.replayMs) publications.push(e);
      }
    }
    return Promise.resolve({ epoch: this.epoch, recovered, publications, head });
  }

  close(): Promise<void> {
    this.logs.clear();
    this.subscribed.clear();
    this.total = 0;
    return Promise.resolve();
  }

  /** Drops frames older than maxAgeMs everywhere (the relay calls it from a timer). */
  sweep(): void {
    const now = this.now();
    for (const log of this.logs.values()) this.expire(log, now);
  }

  private keep(topic: string, entry: Entry, now: number): void {
    let log = this.logs.get(topic);
    if (log === undefined) log = { entries: [], head: 0, bytes: 0, low: this.forgotten };
    else this.logs.delete(topic); // re-inserted below: the map stays in order of last publication
    this.logs.set(topic, log);
    log.entries.push(entry);
    log.bytes += entry.frame.length;
    this.total += entry.frame.length;
    while (log.entries.length - log.head > this.maxFrames || log.bytes > this.maxBytes) this.dropOldest(log);
    while (this.logs.size > this.maxTopics || this.total > this.maxTotalBytes) {
      const oldest = this.logs.keys().next();
      if (oldest.done === true) break;
      this.forget(oldest.value);
    }
  }

  /** Drops the frames older than maxAgeMs. An empty log stays (its `low` says nothing was missed) until maxTopics needs its place. */
  private expire(log: TopicLog, now: number): void {
    while (log.head < log.entries.length && now - log.entries[log.head]!.at > this.maxAgeMs) this.dropOldest(log);
  }

  private dropOldest(log: TopicLog): void {
    const e = log.entries[log.head]!;
    log.entries[log.head] = undefined as unknown as Entry; // release the frame now
    log.head++;
    log.bytes -= e.frame.length;
    this.total -= e.frame.length;
    log.low = e.offset.seq;
    if (log.head > 64 && log.head * 2 > log.entries.length) {
      log.entries = log.entries.slice(log.head);
      log.head = 0;
    }
  }

  private forget(topic: string): void {
    const log = this.logs.get(topic);
    if (log === undefined) return;
    const last = log.head < log.entries.length ? log.entries[log.entries.length - 1]!.offset.seq : log.low;
    this.forgotten = Math.max(this.forgotten, last);
    this.total -= log.bytes;
    this.logs.delete(topic);
  }
}

function sameEpoch(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
