/**
 * The Redis engine's command path (PROTOCOL-RELAY.md §3.2 "stored", §3.4, §6): publish() calls become one
 * APPEND script call (redis-scripts.ts) per stream per tick.
 *
 * - Batching: the frames a node receives for one topic before the event loop's check phase (setImmediate)
 *   go to Redis in one EVALSHA, or sooner once a batch holds MAX_BATCH_FRAMES frames or MAX_BATCH_BYTES
 *   bytes; ioredis pipelines the calls of one tick. One script call touches one topic's keys only (cluster
 *   ready: the keys share the `{topic}` hash tag).
 * - Acknowledgement only once stored: each frame's promise resolves with its stream id from the script's
 *   reply (Redis ran the XADD), or rejects with EngineUnavailable when the call failed; promises settle in
 *   call order across all topics (the Engine contract), rejections included.
 * - Expiry: a node asks the script to refresh a stream's expiry (to streamTtlMs + refreshMs) when its last
 *   refresh of that stream is refreshMs old or more (or unknown); the script also sets it on every key it
 *   creates. So a stream's keys outlive its last publication by streamTtlMs at least and streamTtlMs +
 *   refreshMs at most: the node that appended last refreshed less than refreshMs before, and expiries only
 *   move later. After a failed call the node forgets every refresh (it may not have happened).
 * - Trimming by age: asked at most once per ageCheckMs per stream and node; by count: XADD MAXLEN ~ on each call.
 */
import { EngineUnavailable, type Offset } from './engine.js';
import type { RedisEngineSettings } from './redis-options.js';
import { type TopicKeys, topicKeys } from './redis-scripts.js';
import { parseAppend, publisherTag } from './redis-wire.js';

/** Frames per script call at most (a call holds Redis for about 2 µs per frame). */
const MAX_BATCH_FRAMES = 128;
/** Frame bytes per script call at most. */
const MAX_BATCH_BYTES = 256 * 1024;
/** Streams whose refresh and age-trim times a node tracks at most; beyond, it forgets them all (more refreshes, nothing else). */
const MAX_TRACKED = 65_536;

/** What publish() resolves with. */
export interface Stored {
  epoch: Uint8Array;
  offset: Offset;
}

/** One publish() call waiting for its settlement. */
interface Pending {
  resolve: (stored: Stored) => void;
  reject: (error: unknown) => void;
  /** Set once the call is settled (result or error), then settled in call order. */
  done: boolean;
  result: Stored | undefined;
  error: unknown;
}

/** The frames of one topic for one script call: EVALSHA's arguments, built as frames arrive. */
interface Batch {
  topic: string;
  args: (string | Buffer | number)[];
  pending: Pending[];
  bytes: number;
}

/** When this node last refreshed a stream's expiry and last trimmed it by age (Date.now()). */
interface Tracked {
  refreshed: number;
  aged: number;
}

/** EVALSHA argument slots of APPEND (redis-scripts.ts) filled in when the batch is sent. */
const CANDIDATE = 4;
const AGE = 6;
const REFRESH = 8;
/** Arguments before the first frame's tag: sha, numkeys, 2 keys, 6 ARGV. */
const HEAD = 10;

export interface AppenderLink {
  /** EVALSHA with Buffer replies on the command connection (undefined while it is not ready). */
  evalsha(args: (string | Buffer | number)[]): Promise<unknown> | undefined;
  /** A fresh candidate epoch. */
  candidate(): Buffer;
  /** Any command failure as EngineUnavailable (and the engine's reaction to it). */
  failed(e: unknown): EngineUnavailable;
}

export class Appender {
  private batches = new Map<string, Batch>();
  private scheduled = false;
  /** Every unsettled publish() call in call order, from `head` on. */
  private queue: (Pending | undefined)[] = [];
  private head = 0;
  private readonly tracked = new Map<string, Tracked>();
  private readonly maxFrames: string;
  private readonly maxAge: string;
  private readonly expiry: string;

  constructor(
    private readonly s: RedisEngineSettings,
    private readonly nodeId: string,
    private readonly sha: string,
    private readonly link: AppenderLink,
  ) {
    this.maxFrames = String(s.maxFrames);
    this.maxAge = String(s.maxAgeMs);
    this.expiry = String(s.expiryMs);
  }

  /** Queues `frame` for `topic`'s next script call; settles once Redis stored it (or could not). */
  append(topic: string, frame: Uint8Array, from: number): Promise<Stored> {
    let batch = this.batches.get(topic);
    if (batch === undefined) {
      const keys: TopicKeys = topicKeys(this.s.keyPrefix, topic);
      batch = { topic, args: [this.sha, 2, keys.stream, keys.epoch, '', this.maxFrames, '0', this.expiry, '0', keys.channel], pending: [], bytes: 0 };
      this.batches.set(topic, batch);
    }
    const bytes = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    batch.args.push(publisherTag(this.nodeId, from), bytes);
    batch.bytes += bytes.length;
    const promise = this.enqueue(batch.pending);
    if (batch.pending.length >= MAX_BATCH_FRAMES || batch.bytes >= MAX_BATCH_BYTES) {
      this.batches.delete(topic);
      this.send(batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return promise;
  }

  /** A publish() call refused at once (Redis unavailable): rejected in call order. */
  refuse(error: EngineUnavailable): Promise<Stored> {
    if (this.head === this.queue.length) return Promise.reject(error);
    const promise = this.enqueue(undefined);
    const p = this.queue[this.queue.length - 1]!;
    p.done = true;
    p.error = error;
    return promise;
  }

  /** Forgets refresh and age-trim times (after Redis came back: it may have lost them). */
  forget(): void {
    this.tracked.clear();
  }

  private enqueue(into: Pending[] | undefined): Promise<Stored> {
    return new Promise<Stored>((resolve, reject) => {
      const p: Pending = { resolve, reject, done: false, result: undefined, error: undefined };
      this.queue.push(p);
      into?.push(p);
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batches = this.batches;
    this.batches = new Map();
    for (const batch of batches.values()) this.send(batch);
  };

  private send(batch: Batch): void {
    const now = Date.now();
    let t = this.tracked.get(batch.topic);
    if (t === undefined) {
      if (this.tracked.size >= MAX_TRACKED) this.tracked.clear();
      t = { refreshed: -Infinity, aged: -Infinity };
      this.tracked.set(batch.topic, t);
    }
    const args = batch.args;
    args[CANDIDATE] = this.link.candidate();
    if (now - t.aged >= this.s.ageCheckMs) {
      args[AGE] = this.maxAge;
      t.aged = now;
    }
    if (now - t.refreshed >= this.s.refreshMs) {
      args[REFRESH] = '1';
      t.refreshed = now;
    }
    const call = this.link.evalsha(args);
    if (call === undefined) return this.fail(batch, new EngineUnavailable('redis unavailable'));
    call.then(
      (reply) => {
        let stored: { epoch: Uint8Array; offsets: Offset[] };
        try {
          stored = parseAppend(reply, (args.length - HEAD) / 2);
        } catch (e) {
          return this.fail(batch, e);
        }
        batch.pending.forEach((p, i) => {
          p.done = true;
          p.result = { epoch: stored.epoch, offset: stored.offsets[i]! };
        });
        this.drain();
      },
      (e: unknown) => this.fail(batch, this.link.failed(e)),
    );
  }

  private fail(batch: Batch, error: unknown): void {
    this.tracked.clear();
    for (const p of batch.pending) {
      p.done = true;
      p.error = error;
    }
    this.drain();
  }

  /** Settles the calls at the head of the queue that are done, in call order. */
  private drain(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.done) {
      const p = q[this.head]!;
      q[this.head++] = undefined;
      if (p.error === undefined) p.resolve(p.result!);
      else p.reject(p.error);
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }
}
