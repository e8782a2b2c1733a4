/**
 * The Redis engine's command path (PROTOCOL-RELAY.md §3.2 "stored", §3.4, §6): publish() calls become APPEND
 * script calls (redis-scripts.ts), one batch per stream per tick, several streams per call.
 *
 * - Batching: the frames a node receives for one topic before the event loop's check phase (setImmediate)
 *   form that topic's batch; the batches of one tick go to Redis together, as few EVALSHA calls as the bounds
 *   allow (MAX_BATCH_FRAMES frames and MAX_BATCH_BYTES bytes per call; a topic's batch reaching them goes at
 *   once, alone); ioredis pipelines the calls of one tick. In a cluster a call holds the topics of one slot
 *   only (the keys share the `{topic}` hash tag), so there it is about one topic per call.
 * - Acknowledgement only once stored: each frame settles (a callback, no promise per frame) with its stream
 *   id from its topic's head in the script's reply (Redis ran the XADD), or with EngineUnavailable when the
 *   call failed; settled in call order across all topics (the Engine contract), failures included.
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
import { keySlot } from './redis-shard-subscriber.js';
import { encodeRecord, parseAppend, publisherTag } from './redis-wire.js';

/** Frames per script call at most (a call holds Redis for about 2 - 4 µs per frame). */
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

/** Called once per append(): with undefined and the result once stored, or with the error. */
export type Settle = (error: unknown, stored: Stored | undefined) => void;

/** One append() call waiting for its settlement. */
interface Pending {
  settle: Settle;
  /** Set once the call is settled (result or error), then settled in call order. */
  done: boolean;
  result: Stored | undefined;
  error: unknown;
}

/** The frames of one topic for its next script call: the records, built as frames arrive. */
interface Batch {
  topic: string;
  keys: TopicKeys;
  /** The keys' cluster slot (0 on one server: every topic may share a call). */
  slot: number;
  records: Buffer[];
  pending: Pending[];
  bytes: number;
}

/** When this node last refreshed a stream's expiry and last trimmed it by age (Date.now()). */
interface Tracked {
  refreshed: number;
  aged: number;
}

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
  /** APPEND's first arguments: maxFrames, maxAgeMs, expiry, '1' to check for a failover (cluster). */
  private readonly first: string[];

  constructor(
    private readonly s: RedisEngineSettings,
    private readonly nodeId: string,
    private readonly sha: string,
    private readonly link: AppenderLink,
  ) {
    this.first = [String(s.maxFrames), String(s.maxAgeMs), String(s.expiryMs), s.cluster ? '1' : '0'];
  }

  /** Queues `frame` for `topic`'s next script call; settles once Redis stored it (or could not). */
  append(topic: string, frame: Uint8Array, from: number, settle: Settle): void {
    let batch = this.batches.get(topic);
    if (batch === undefined) {
      const keys = topicKeys(this.s.keyPrefix, topic);
      batch = { topic, keys, slot: this.s.cluster ? keySlot(keys.stream) : 0, records: [], pending: [], bytes: 0 };
      this.batches.set(topic, batch);
    }
    batch.records.push(encodeRecord(publisherTag(this.nodeId, from), frame));
    batch.bytes += frame.length;
    this.enqueue(settle, batch.pending);
    if (batch.pending.length >= MAX_BATCH_FRAMES || batch.bytes >= MAX_BATCH_BYTES) {
      this.batches.delete(topic);
      this.send([batch]);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** An append() refused at once (Redis unavailable): settled in call order (now when nothing is pending). */
  refuse(error: EngineUnavailable, settle: Settle): void {
    if (this.head === this.queue.length) return settle(error, undefined);
    const p = this.enqueue(settle, undefined);
    p.done = true;
    p.error = error;
  }

  /** Forgets refresh and age-trim times (after Redis came back: it may have lost them). */
  forget(): void {
    this.tracked.clear();
  }

  private enqueue(settle: Settle, into: Pending[] | undefined): Pending {
    const p: Pending = { settle, done: false, result: undefined, error: undefined };
    this.queue.push(p);
    into?.push(p);
    return p;
  }

  /** Sends the tick's batches, grouped into calls by slot (cluster) within the bounds. */
  private readonly flush = (): void => {
    this.scheduled = false;
    const batches = this.batches;
    this.batches = new Map();
    const calls = new Map<number, { batches: Batch[]; frames: number; bytes: number }>();
    for (const batch of batches.values()) {
      let call = calls.get(batch.slot);
      if (call !== undefined && (call.frames + batch.pending.length > MAX_BATCH_FRAMES || call.bytes + batch.bytes > MAX_BATCH_BYTES)) {
        this.send(call.batches);
        call = undefined;
      }
      if (call === undefined) calls.set(batch.slot, (call = { batches: [], frames: 0, bytes: 0 }));
      call.batches.push(batch);
      call.frames += batch.pending.length;
      call.bytes += batch.bytes;
    }
    for (const call of calls.values()) this.send(call.batches);
  };

  /** One APPEND call for `batches` (one slot); each batch's frames settle from its head in the reply. */
  private send(batches: Batch[]): void {
    const now = Date.now();
    const keys: string[] = [];
    const argv: (string | Buffer)[] = [...this.first];
    for (const batch of batches) {
      let t = this.tracked.get(batch.topic);
      if (t === undefined) {
        if (this.tracked.size >= MAX_TRACKED) this.tracked.clear();
        t = { refreshed: -Infinity, aged: -Infinity };
        this.tracked.set(batch.topic, t);
      }
      const age = now - t.aged >= this.s.ageCheckMs;
      if (age) t.aged = now;
      const refresh = now - t.refreshed >= this.s.refreshMs;
      if (refresh) t.refreshed = now;
      keys.push(batch.keys.stream, batch.keys.epoch);
      argv.push(this.link.candidate(), age ? '1' : '0', refresh ? '1' : '0', batch.keys.channel, String(batch.records.length), ...batch.records);
    }
    const call = this.link.evalsha([this.sha, keys.length, ...keys, ...argv]);
    if (call === undefined) return this.fail(batches, new EngineUnavailable('redis unavailable'));
    call.then(
      (reply) => {
        const stored: { epoch: Uint8Array; offsets: Offset[] }[] = [];
        try {
          if (!Array.isArray(reply) || reply.length !== batches.length) throw new EngineUnavailable('redis: unexpected reply (append)');
          for (let i = 0; i < batches.length; i++) stored.push(parseAppend(reply[i], batches[i]!.pending.length));
        } catch (e) {
          return this.fail(batches, e);
        }
        batches.forEach((batch, i) => {
          const { epoch, offsets } = stored[i]!;
          batch.pending.forEach((p, j) => {
            p.done = true;
            p.result = { epoch, offset: offsets[j]! };
          });
        });
        this.drain();
      },
      (e: unknown) => this.fail(batches, this.link.failed(e)),
    );
  }

  private fail(batches: Batch[], error: unknown): void {
    this.tracked.clear();
    for (const batch of batches) {
      for (const p of batch.pending) {
        p.done = true;
        p.error = error;
      }
    }
    this.drain();
  }

  /** Settles the calls at the head of the queue that are done, in call order. */
  private drain(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.done) {
      const p = q[this.head]!;
      q[this.head++] = undefined;
      p.settle(p.error, p.result);
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
