/**
 * The Redis engine's command path (PROTOCOL-RELAY.md §3.2 "stored", §3.4, §6): publish() calls become APPEND
 * script calls (redis-scripts.ts), one batch per stream per tick, several streams per call.
 *
 * - Batching: the frames a node receives for one topic before the event loop's check phase (setImmediate)
 *   form that topic's batch; the batches of one tick go to Redis together, as few EVALSHA calls as the bounds
 *   allow (MAX_BATCH_FRAMES frames and MAX_BATCH_BYTES bytes per call; a topic's batch reaching them goes at
 *   once, alone). In a cluster a call holds the topics of one slot only (the keys share the `{topic}` hash
 *   tag), so there it is about one topic per call.
 * - The call's bytes: each call is written as one RESP buffer (redis-command.ts) into which every frame is
 *   copied once, as its record in its topic's batch body (redis-wire.ts); a topic's keys and channel are encoded
 *   once and kept while the topic is tracked. ioredis' own encoding of a call's many arguments took more of the
 *   node's CPU than anything else on this path (its Command objects, toWritable, string building).
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
import { EPOCH_BYTES, EngineUnavailable, type Offset } from './engine.js';
import { AppendCall } from './redis-command.js';
import { bulk } from './redis-resp.js';
import type { RedisEngineSettings } from './redis-options.js';
import { topicKeys } from './redis-scripts.js';
import { keySlot } from './redis-shard-subscriber.js';
import { digits, parseAppend, recordLength, writeNumber, writeRecord } from './redis-wire.js';

/** Frames per script call at most (a call holds Redis for about 2 - 4 µs per frame). */
const MAX_BATCH_FRAMES = 128;
/** Frame bytes per script call at most. */
const MAX_BATCH_BYTES = 256 * 1024;
/** Streams whose refresh and age-trim times a node tracks at most; beyond, it forgets them all (more refreshes, nothing else). */
const MAX_TRACKED = 65_536;
/** RESP bytes of a candidate epoch argument: `$8\r\n` + 8 bytes + `\r\n`. */
const CANDIDATE_BULK = 4 + EPOCH_BYTES + 2;

/** What publish() resolves with. */
export interface Stored {
  epoch: Uint8Array;
  offset: Offset;
}

/**
 * Called once per append(): with undefined once stored, or with the error. `stored` holds the epoch and offset
 * when append() was asked for them, and is valid during the call only.
 */
export type Settle = (error: unknown, stored: Stored | undefined) => void;

/** One append() call waiting for its settlement (the epoch and offset are set when `wants` them). */
interface Pending extends Stored {
  settle: Settle;
  wants: boolean;
  /** Set once the call is settled (stored or error), then settled in call order. */
  done: boolean;
  error: unknown;
}

const NO_EPOCH = new Uint8Array(0);
const NO_OFFSET: Offset = { ms: 0, seq: 0 };

/** The frames of one topic for its next script call (copied into the call's buffer when it is sent). */
interface Batch {
  topic: string;
  tracked: Tracked;
  frames: Uint8Array[];
  froms: number[];
  pending: Pending[];
  /** Bytes of the batch body (its records). */
  bytes: number;
}

/** What a node keeps of a topic it appends to: its encoded keys, and when it last refreshed and trimmed it. */
interface Tracked {
  /** The stream key (the call's first key: its cluster slot). */
  stream: string;
  /** The keys' cluster slot (0 on one server: every topic may share a call). */
  slot: number;
  /** RESP bulk strings of the stream and epoch keys, and of the channel. */
  keys: Buffer;
  channel: Buffer;
  /** Date.now() of the last refresh and trim by age this node asked for (in `generation`). */
  refreshed: number;
  aged: number;
  generation: number;
}

export interface AppenderLink {
  /** Sends a prepared EVALSHA call with Buffer replies (undefined while the command connection is not ready). */
  send(call: AppendCall): Promise<unknown> | undefined;
  /** A fresh candidate epoch. */
  candidate(): Buffer;
  /** Any command failure as EngineUnavailable (and the engine's reaction to it). */
  failed(e: unknown): EngineUnavailable;
}

const ZERO = bulk(Buffer.from('0'));
const ONE = bulk(Buffer.from('1'));

export class Appender {
  private batches = new Map<string, Batch>();
  private scheduled = false;
  /** Every unsettled publish() call in call order, from `head` on. */
  private queue: (Pending | undefined)[] = [];
  private head = 0;
  private readonly tracked = new Map<string, Tracked>();
  /** Refresh and age-trim times of an older generation are forgotten (forget()). */
  private generation = 0;
  private readonly nodeId: Buffer;
  /** RESP of `EVALSHA <sha>`, and of APPEND's first arguments: maxFrames, maxAgeMs, expiry, '1' to check for a failover (cluster). */
  private readonly command: Buffer;
  private readonly first: Buffer;

  constructor(
    private readonly s: RedisEngineSettings,
    nodeId: string,
    private readonly sha: string,
    private readonly link: AppenderLink,
  ) {
    this.nodeId = Buffer.from(nodeId, 'latin1');
    this.command = Buffer.concat([bulk(Buffer.from('EVALSHA')), bulk(Buffer.from(sha, 'latin1'))]);
    this.first = Buffer.concat([String(s.maxFrames), String(s.maxAgeMs), String(s.expiryMs), s.cluster ? '1' : '0'].map((a) => bulk(Buffer.from(a))));
  }

  /** Queues `frame` for `topic`'s next script call; settles once Redis stored it (or could not), with its epoch and offset if it `wants` them. */
  append(topic: string, frame: Uint8Array, from: number, settle: Settle, wants: boolean): void {
    let batch = this.batches.get(topic);
    if (batch === undefined) {
      batch = { topic, tracked: this.track(topic), frames: [], froms: [], pending: [], bytes: 0 };
      this.batches.set(topic, batch);
    }
    batch.frames.push(frame);
    batch.froms.push(from);
    batch.bytes += recordLength(this.nodeId, from, frame.length);
    this.enqueue(settle, wants, batch.pending);
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
    const p = this.enqueue(settle, false, undefined);
    p.done = true;
    p.error = error;
  }

  /** Forgets refresh and age-trim times (after Redis came back: it may have lost them). */
  forget(): void {
    this.generation++;
  }

  /** What this node keeps of `topic` (encoded keys, refresh and trim times), made on first use. */
  private track(topic: string): Tracked {
    let t = this.tracked.get(topic);
    if (t === undefined) {
      if (this.tracked.size >= MAX_TRACKED) this.tracked.clear();
      const keys = topicKeys(this.s.keyPrefix, topic);
      t = {
        stream: keys.stream,
        slot: this.s.cluster ? keySlot(keys.stream) : 0,
        keys: Buffer.concat([bulk(Buffer.from(keys.stream)), bulk(Buffer.from(keys.epoch))]),
        channel: bulk(Buffer.from(keys.channel)),
        refreshed: -Infinity,
        aged: -Infinity,
        generation: this.generation,
      };
      this.tracked.set(topic, t);
    }
    return t;
  }

  private enqueue(settle: Settle, wants: boolean, into: Pending[] | undefined): Pending {
    const p: Pending = { settle, wants, done: false, error: undefined, epoch: NO_EPOCH, offset: NO_OFFSET };
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
      let call = calls.get(batch.tracked.slot);
      if (call !== undefined && (call.frames + batch.pending.length > MAX_BATCH_FRAMES || call.bytes + batch.bytes > MAX_BATCH_BYTES)) {
        this.send(call.batches);
        call = undefined;
      }
      if (call === undefined) calls.set(batch.tracked.slot, (call = { batches: [], frames: 0, bytes: 0 }));
      call.batches.push(batch);
      call.frames += batch.pending.length;
      call.bytes += batch.bytes;
    }
    for (const call of calls.values()) this.send(call.batches);
  };

  /**
   * One APPEND call for `batches` (one slot), as one RESP buffer: `*<argc>` EVALSHA sha numkeys, each topic's
   * two keys, the first arguments, then per topic (redis-scripts.ts): candidate epoch, age, refresh, channel,
   * body. Each batch's frames settle from its head in the reply.
   */
  private send(batches: Batch[]): void {
    const now = Date.now();
    const n = batches.length;
    let size = digitsHead(3 + 2 * n + 4 + 5 * n) + this.command.length + digitsHead(digits(2 * n)) + digits(2 * n) + 2 + this.first.length;
    for (const batch of batches) {
      const t = batch.tracked;
      size += t.keys.length + CANDIDATE_BULK + 2 * ONE.length + t.channel.length + digitsHead(batch.bytes) + batch.bytes + 2;
    }
    const out = Buffer.allocUnsafe(size);
    let at = writeHead(out, 0, 0x2a, 3 + 2 * n + 4 + 5 * n);
    at += this.command.copy(out, at);
    at = writeHead(out, at, 0x24, digits(2 * n));
    at = writeNumber(out, at, 2 * n);
    at = crlf(out, at);
    for (const batch of batches) at += batch.tracked.keys.copy(out, at);
    at += this.first.copy(out, at);
    for (const batch of batches) {
      const t = batch.tracked;
      if (t.generation !== this.generation) {
        t.generation = this.generation;
        t.refreshed = t.aged = -Infinity;
      }
      const age = now - t.aged >= this.s.ageCheckMs;
      if (age) t.aged = now;
      const refresh = now - t.refreshed >= this.s.refreshMs;
      if (refresh) t.refreshed = now;
      at = writeHead(out, at, 0x24, EPOCH_BYTES);
      at += this.link.candidate().copy(out, at);
      at = crlf(out, at);
      at += (age ? ONE : ZERO).copy(out, at);
      at += (refresh ? ONE : ZERO).copy(out, at);
      at += t.channel.copy(out, at);
      at = writeHead(out, at, 0x24, batch.bytes);
      for (let j = 0; j < batch.frames.length; j++) at = writeRecord(out, at, this.nodeId, batch.froms[j]!, batch.frames[j]!);
      at = crlf(out, at);
    }
    if (at !== size) return this.fail(batches, new EngineUnavailable(`redis: APPEND call of ${size} bytes written as ${at}`)); // never: sizes above
    const call = this.link.send(new AppendCall(this.sha, batches[0]!.tracked.stream, out));
    if (call === undefined) return this.fail(batches, new EngineUnavailable('redis unavailable'));
    call.then(
      (reply) => this.stored(batches, reply),
      (e: unknown) => this.fail(batches, this.link.failed(e)),
    );
  }

  /** The reply of an APPEND call: every frame of `batches` is done, with its offset (or all fail). */
  private stored(batches: Batch[], reply: unknown): void {
    const stored: { epoch: Uint8Array; offsets: Offset[] | undefined }[] = [];
    try {
      if (!Array.isArray(reply) || reply.length !== batches.length) throw new EngineUnavailable('redis: unexpected reply (append)');
      for (let i = 0; i < batches.length; i++) {
        const pending = batches[i]!.pending;
        stored.push(parseAppend(reply[i], pending.length, pending.some((p) => p.wants)));
      }
    } catch (e) {
      return this.fail(batches, e);
    }
    for (let i = 0; i < batches.length; i++) {
      const { epoch, offsets } = stored[i]!;
      const pending = batches[i]!.pending;
      for (let j = 0; j < pending.length; j++) {
        const p = pending[j]!;
        p.done = true;
        if (p.wants) {
          p.epoch = epoch;
          p.offset = offsets![j]!;
        }
      }
    }
    this.drain();
  }

  private fail(batches: Batch[], error: unknown): void {
    this.forget();
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
      p.settle(p.error, p.error === undefined && p.wants ? p : undefined);
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

/** Bytes of `<type><n>\r\n` (an array's or a bulk string's head). */
function digitsHead(n: number): number {
  return 1 + digits(n) + 2;
}

/** Writes `<type><n>\r\n` at `at` (type `*` or `$`); returns where it ends. */
function writeHead(out: Buffer, at: number, type: number, n: number): number {
  out[at] = type;
  return crlf(out, writeNumber(out, at + 1, n));
}

function crlf(out: Buffer, at: number): number {
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}
