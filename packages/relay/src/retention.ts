/**
 * Per-topic retention (PROTOCOL-RELAY.md §3.4): the last few DELIVER messages of each topic, replayed to a
 * connection when it subscribes, so a peer that subscribes a moment after the other published its offer
 * still gets it. Bounded per topic (frames, bytes, age) and globally (topics, bytes): when a global cap is
 * hit, the topic held longest (earliest first publish since its log was last emptied) is evicted first; no
 * reordering per publish, so the hot path stays one Map lookup. Frames are opaque; nothing is decoded.
 */
export interface RetentionOptions {
  /** Frames kept per topic (0 disables retention). Default 64. */
  maxFrames?: number;
  /** Bytes kept per topic. Default 256 KiB. */
  maxBytes?: number;
  /** Age after which a frame is no longer replayed. Default 30 000 ms. */
  maxAgeMs?: number;
  /** Topics with retained frames, across the relay. Default 10 000. */
  maxTopics?: number;
  /** Bytes retained across all topics. Default 64 MiB. */
  maxTotalBytes?: number;
}

export interface Retained {
  /** The DELIVER message, ready to send. */
  message: Buffer;
  /** The publishing connection's id (0 for frames from another node): not replayed to it. */
  from: number;
  at: number;
}

interface TopicLog {
  entries: Retained[];
  bytes: number;
}

export class RetentionStore {
  readonly maxFrames: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly maxTopics: number;
  readonly maxTotalBytes: number;
  /** Insertion order = order of first publish (since the topic's log was last emptied). */
  private readonly topics = new Map<string, TopicLog>();
  private totalBytes = 0;

  constructor(options: RetentionOptions | false | undefined) {
    const o = options === false ? { maxFrames: 0 } : (options ?? {});
    this.maxFrames = o.maxFrames ?? 64;
    this.maxBytes = o.maxBytes ?? 256 * 1024;
    this.maxAgeMs = o.maxAgeMs ?? 30_000;
    this.maxTopics = o.maxTopics ?? 10_000;
    this.maxTotalBytes = o.maxTotalBytes ?? 64 * 1024 * 1024;
  }

  get enabled(): boolean {
    return this.maxFrames > 0 && this.maxBytes > 0 && this.maxAgeMs > 0;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  add(topic: string, message: Buffer, from: number, now: number): void {
    if (!this.enabled || message.length > this.maxBytes || message.length > this.maxTotalBytes) return;
    let log = this.topics.get(topic);
    if (log === undefined) {
      log = { entries: [], bytes: 0 };
      this.topics.set(topic, log);
    }
    log.entries.push({ message, from, at: now });
    log.bytes += message.length;
    this.totalBytes += message.length;
    while (log.entries.length > this.maxFrames || log.bytes > this.maxBytes) this.shift(log);
    while (this.topics.size > this.maxTopics || this.totalBytes > this.maxTotalBytes) {
      const oldest = this.topics.keys().next();
      if (oldest.done === true) break;
      this.drop(oldest.value);
    }
  }

  /** Retained messages of `topic` younger than maxAgeMs, oldest first. */
  recent(topic: string, now: number): Retained[] {
    const log = this.topics.get(topic);
    if (log === undefined) return [];
    this.expire(topic, log, now);
    return log.entries.slice();
  }

  /** Drops expired frames everywhere (called from a timer). */
  sweep(now: number): void {
    for (const [topic, log] of this.topics) this.expire(topic, log, now);
  }

  clear(): void {
    this.topics.clear();
    this.totalBytes = 0;
  }

  private expire(topic: string, log: TopicLog, now: number): void {
    while (log.entries.length > 0 && now - log.entries[0]!.at > this.maxAgeMs) this.shift(log);
    if (log.entries.length === 0) this.topics.delete(topic);
  }

  private shift(log: TopicLog): void {
    const e = log.entries.shift();
    if (e === undefined) return;
    log.bytes -= e.message.length;
    this.totalBytes -= e.message.length;
  }

  private drop(topic: string): void {
    const log = this.topics.get(topic);
    if (log === undefined) return;
    this.totalBytes -= log.bytes;
    this.topics.delete(topic);
  }
}
