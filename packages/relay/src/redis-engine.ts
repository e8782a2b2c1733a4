/**
 * The Redis engine (engine.ts; PROTOCOL-RELAY.md §3.4 retention and offsets, §6 several nodes): every topic's
 * stream is a Redis Stream, shared by any number of relay nodes on one Redis.
 *
 * Keys (the `{topic}` hash tag keeps a topic's keys in one cluster slot):
 * - `<prefix>s:{<topic>}` the stream; entry fields `f` (the frame) and `t` (publisher tag `<node id hex>:<conn id>`).
 *   Offsets ARE the stream ids (`<ms>-<seq>`), never a separate counter: a counter could rewind after a Redis
 *   restart and make clients skip new frames unnoticed.
 * - `<prefix>e:{<topic>}` a hash: `e` the stream's epoch (8 bytes), `w` the newest id trimmed away (Redis 7.0
 *   does not move `max-deleted-entry-id` on trims, only on XDEL), `r` = '1' while the epoch is reserved by
 *   history() for a stream that has no publication yet (so the first publication keeps the epoch a client
 *   was already given; any other missing stream gets a new epoch).
 * - `<prefix>n:{<topic>}` the pub/sub channel carrying `[epoch 8][id length 1][id][tag length 1][tag][frame]`.
 * Both keys get PEXPIRE streamTtlMs on every append: every key expires (inbox topics make one stream per member).
 *
 * Scripts (loaded on every connect; one round trip each, atomic): APPEND (epoch, XADD, trim by count and age,
 * PEXPIRE, PUBLISH) and READ (epoch, XINFO STREAM and the range, for history() and for catching up).
 *
 * Availability: commands never wait in ioredis' offline queue; while the command connection is not ready,
 * publish(), history() and subscribe() reject with EngineUnavailable at once, and the listener hears of each
 * change once. The subscriber connection is managed here (no auto-resubscribe): on every (re)connect it
 * subscribes every topic again, then reads each stream after the last offset this node delivered and hands
 * that over before the notifications that arrived meanwhile (merged by offset, no duplicates).
 *
 * Loss detection: a stream that expired or was lost gets a new epoch at its next publication. A position
 * beyond the stream's `last-generated-id` (Redis lost a tail, e.g. a crash between AOF fsyncs) bumps the
 * epoch, found by history() or by a node catching up after a reconnect (the run id from INFO is checked on
 * every connect and a restart is logged). A node that finds frames trimmed past its own last delivered offset
 * bumps the epoch too (engine.ts has no per-node gap signal). Not detected: a lost tail when no node held a
 * position in it and no client asks with one; a Redis that evicts keys (configure maxmemory-policy noeviction).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  EPOCH_BYTES,
  EngineUnavailable,
  START,
  compareOffsets,
  type Engine,
  type EngineListener,
  type History,
  type Offset,
  type Position,
  type Publication,
} from './engine.js';
import type { RelayLogger } from './options.js';
import { redisOptions } from './redis-options.js';

export interface RedisEngineOptions {
  /** redis:// or rediss:// */
  url: string;
  /** Publications kept per stream (trimmed a little above it, in batches). Default 1 000. */
  maxFrames?: number;
  /** Publications older than this are trimmed. Default 60 000 ms. */
  maxAgeMs?: number;
  /** history() without a recoverable `since` returns the publications younger than this. Default 30 000 ms. */
  replayMs?: number;
  /** Expiry set on a topic's keys at every append. Default max(2 x maxAgeMs, 300 000 ms). */
  streamTtlMs?: number;
  /** Default 'sealsig:'. */
  keyPrefix?: string;
  logger?: RelayLogger;
}

/** Trimming by age runs at most this often per stream (so frames live up to maxAgeMs + this). */
const AGE_CHECK_MS = 1_000;
/** Notifications held per topic while it catches up; beyond, they are dropped and the catch-up reads again. */
const MAX_HELD = 10_000;
/** A catch-up that failed while both connections are up is tried again after this. */
const CATCH_UP_RETRY_MS = 1_000;
/** Channels per SUBSCRIBE command when resubscribing. */
const SUBSCRIBE_BATCH = 500;

const ID = `
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * KEYS: stream, epoch hash. ARGV: candidate epoch, maxFrames, slack, maxAgeMs, ttlMs, tag, frame, channel,
 * age check interval ms. Returns { epoch, id }. Trims by count once the stream holds maxFrames + slack (one
 * XRANGE per `slack` appends), by age at most once per interval (the hash's `a`: the next check, stream ms).
 */
const APPEND = `${ID}
local s, e = KEYS[1], KEYS[2]
local h = redis.call('HMGET', e, 'e', 'r', 'w', 'a')
local epoch = h[1]
local len = redis.call('XLEN', s)
if len == 0 and redis.call('EXISTS', s) == 0 then
  if not (epoch and h[2] == '1') then epoch = ARGV[1] end
  redis.call('DEL', e)
  redis.call('HSET', e, 'e', epoch)
  h[3], h[4] = false, false
elseif not epoch then
  epoch = ARGV[1]
  redis.call('HSET', e, 'e', epoch)
end
local id = redis.call('XADD', s, '*', 'f', ARGV[7], 't', ARGV[6])
len = len + 1
local ms = parse(id)
local max, slack = tonumber(ARGV[2]), tonumber(ARGV[3])
local cut, mark = nil, nil
if len > max + slack then
  local r = redis.call('XRANGE', s, '-', '+', 'COUNT', len - max + 1)
  cut, mark = r[#r][1], r[#r - 1][1]
end
if not h[4] or tonumber(h[4]) <= ms then
  local minid = math.max(0, ms - tonumber(ARGV[4])) .. '-0'
  local old = redis.call('XREVRANGE', s, '(' .. minid, '-', 'COUNT', 1)
  if #old > 0 and (not cut or less(cut, minid)) then cut, mark = minid, old[1][1] end
  redis.call('HSET', e, 'a', ms + tonumber(ARGV[9]))
end
if cut then
  redis.call('XTRIM', s, 'MINID', cut)
  if not h[3] or less(h[3], mark) then redis.call('HSET', e, 'w', mark) end
end
redis.call('PEXPIRE', s, ARGV[5])
redis.call('PEXPIRE', e, ARGV[5])
redis.call('PUBLISH', ARGV[8], epoch .. string.char(#id) .. id .. string.char(#ARGV[6]) .. ARGV[6] .. ARGV[7])
return { epoch, id }
`;

/**
 * KEYS: stream, epoch hash. ARGV: mode ('history' | 'catchup'), since epoch ('' for none), since id, limit,
 * replayMs, candidate epoch, ttlMs.
 * Returns { epoch | false, recovered 0/1, last-generated-id, entries, reversed 0/1 }.
 * history: on a missing stream reserves an epoch (recovered only for since = (that epoch, 0-0)); recovered iff
 * the epochs match and since is within [newest removed id, last-generated-id]; since beyond last-generated-id
 * bumps the epoch; entries = after since (limit + 1 read: more than limit is not recovered) or the newest
 * `limit` younger than replayMs. catchup: nothing on a missing stream; also bumps when since was trimmed;
 * entries = `limit` after since, or the newest `limit` of the stream when not recovered.
 */
const READ = `${ID}
local s, e = KEYS[1], KEYS[2]
local mode, sinceEpoch, since, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ttl = ARGV[7]
local epoch = redis.call('HGET', e, 'e')
if redis.call('EXISTS', s) == 0 then
  if mode ~= 'history' then return { false, 0, '0-0', {}, 0 } end
  if not (epoch and redis.call('HGET', e, 'r') == '1') then
    epoch = ARGV[6]
    redis.call('DEL', e)
    redis.call('HSET', e, 'e', epoch, 'r', '1')
    redis.call('PEXPIRE', e, ttl)
  end
  local ok = (sinceEpoch == epoch and since == '0-0') and 1 or 0
  return { epoch, ok, '0-0', {}, 0 }
end
if not epoch then
  epoch = ARGV[6]
  redis.call('HSET', e, 'e', epoch)
  redis.call('PEXPIRE', e, ttl)
end
local info = redis.call('XINFO', 'STREAM', s)
local last, deleted = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
local trimmed = redis.call('HGET', e, 'w') or '0-0'
local recovered = false
if sinceEpoch == epoch then
  local lost = less(last, since)
  recovered = not lost and not less(since, deleted) and not less(since, trimmed)
  if lost or (not recovered and mode == 'catchup') then
    epoch = ARGV[6]
    redis.call('HSET', e, 'e', epoch)
    redis.call('PEXPIRE', e, ttl)
  end
end
if limit == 0 then return { epoch, recovered and 1 or 0, last, {}, 0 } end
if recovered then
  local extra = (mode == 'history') and 1 or 0
  local r = redis.call('XRANGE', s, '(' .. since, '+', 'COUNT', limit + extra)
  if #r <= limit then return { epoch, 1, last, r, 0 } end
end
local floor = '-'
if mode == 'history' then floor = math.max(0, now() - tonumber(ARGV[5])) .. '-0' end
return { epoch, 0, last, redis.call('XREVRANGE', s, '+', floor, 'COUNT', limit), 1 }
`;

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const APPEND_SCRIPT = script(APPEND);
const READ_SCRIPT = script(READ);

/** A publication read from a notification or a stream, with the epoch it was read in. */
interface Received {
  epoch: Buffer;
  publication: Publication;
}

/** What this node knows of a subscribed topic. */
interface TopicState {
  /** Epoch of `last` (undefined: the stream did not exist when this node subscribed). */
  epoch: Buffer | undefined;
  /** The last offset delivered to the listener (or the stream's head when this node subscribed). */
  last: Offset;
  /** Defined while the topic catches up after a (re)subscription: notifications wait here. */
  held: Received[] | undefined;
  /** The held notifications overflowed: read the stream again before releasing them. */
  overflow: boolean;
}

/** The parsed reply of READ. */
interface ReadReply {
  epoch: Buffer | undefined;
  recovered: boolean;
  last: Offset;
  entries: { offset: Offset; frame: Buffer; tag: string }[];
}

export function createRedisEngine(options: RedisEngineOptions): Engine {
  return new RedisEngine(options);
}

/** Ids `<ms>-<seq>` to Offset and back. */
export function parseStreamId(id: string): Offset | undefined {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (m === null) return undefined;
  const ms = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : undefined;
}

export function formatStreamId(offset: Offset): string {
  return `${offset.ms}-${offset.seq}`;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  return v;
}

class RedisEngine implements Engine {
  readonly kind = 'redis';
  private readonly url: string;
  private readonly maxFrames: number;
  private readonly maxAgeMs: number;
  private readonly replayMs: number;
  private readonly ttlMs: number;
  private readonly prefix: string;
  private readonly log: RelayLogger;
  /** Stored in every publisher tag: `from` is the connection id only for this node's own publications. */
  private readonly nodeId = randomBytes(8).toString('hex');
  private readonly states = new Map<string, TopicState>();
  private listener: EngineListener | undefined;
  private cmd: Redis | undefined;
  private sub: Redis | undefined;
  private ready = false;
  private subReady = false;
  private reported: boolean | undefined;
  private runId: string | undefined;
  private closed = false;
  /** Settles after the previous publish() settled: results resolve in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  private recovering = false;
  /** APPEND's ARGV 2..5: maxFrames, slack, maxAgeMs, ttlMs. */
  private readonly appendLimits: string[];
  private readonly ageCheck: string;
  /** Random bytes handed out EPOCH_BYTES at a time as candidate epochs. */
  private pool = Buffer.alloc(0);
  /** Resolves start() once the first connection attempt succeeded or failed. */
  private decided: (() => void) | undefined;
  private readonly subscribing = new Map<string, Promise<void>>();
  private recoverAgain = false;

  constructor(options: RedisEngineOptions) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) throw new RangeError('url must be a redis:// or rediss:// URL');
    this.url = options.url;
    this.maxFrames = positive('maxFrames', options.maxFrames, 1_000);
    this.maxAgeMs = positive('maxAgeMs', options.maxAgeMs, 60_000);
    this.replayMs = positive('replayMs', options.replayMs, 30_000);
    this.ttlMs = positive('streamTtlMs', options.streamTtlMs, Math.max(2 * this.maxAgeMs, 300_000));
    this.prefix = options.keyPrefix ?? 'sealsig:';
    this.log = options.logger ?? (() => {});
    const slack = Math.max(1, Math.floor(this.maxFrames / 10));
    this.appendLimits = [this.maxFrames, slack, this.maxAgeMs, this.ttlMs].map(String);
    this.ageCheck = String(Math.min(AGE_CHECK_MS, this.maxAgeMs));
  }

  get available(): boolean {
    return this.ready && !this.closed;
  }

  get topics(): number {
    return this.states.size;
  }

  get bytes(): number {
    return 0;
  }

  async start(listener: EngineListener): Promise<void> {
    if (this.listener !== undefined) throw new Error('start() may be called once');
    this.listener = listener;
    const cmd = new Redis(this.url, { ...redisOptions(), enableAutoPipelining: true });
    const sub = new Redis(this.url, { ...redisOptions(), autoResubscribe: false });
    this.cmd = cmd;
    this.sub = sub;
    cmd.on('error', (e: Error) => this.setAvailable(false, `redis: ${e.message}`));
    cmd.on('close', () => this.setAvailable(false, 'redis connection closed'));
    cmd.on('ready', () => void this.onCommandReady(cmd));
    sub.on('error', () => {}); // reported through the command connection's state and 'close' below
    sub.on('close', () => this.onSubscriberClosed());
    sub.on('ready', () => void this.onSubscriberReady(sub));
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onNotification(channel, message));
    const decided = new Promise<void>((resolve) => (this.decided = resolve));
    cmd.connect().catch(() => {});
    sub.connect().catch(() => {});
    await decided;
  }

  publish(topic: string, frame: Uint8Array, from: number): Promise<{ epoch: Uint8Array; offset: Offset }> {
    const stored = this.append(topic, frame, from);
    // Settled in call order, rejections included (auto-pipelined replies arrive in order; this makes it a promise).
    const ordered = this.tail.then(() => stored);
    this.tail = ordered.catch(() => {});
    return ordered;
  }

  private append(topic: string, frame: Uint8Array, from: number): Promise<{ epoch: Uint8Array; offset: Offset }> {
    const cmd = this.cmd;
    if (!this.available || cmd === undefined) return Promise.reject(new EngineUnavailable('redis unavailable'));
    return evalshaBuffer(cmd)(
      APPEND_SCRIPT.sha,
      2,
      this.streamKey(topic),
      this.epochKey(topic),
      this.candidate(),
      ...this.appendLimits,
      `${this.nodeId}:${from}`,
      Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength),
      this.channel(topic),
      this.ageCheck,
    ).then(
      (reply: unknown) => parseAppend(reply),
      (e: unknown) => {
        throw this.failed(e);
      },
    );
  }

  subscribe(topic: string): Promise<void> {
    const pending = this.subscribing.get(topic);
    if (pending !== undefined) return pending;
    if (this.states.has(topic)) return Promise.resolve();
    const done: Promise<void> = this.join(topic).finally(() => {
      if (this.subscribing.get(topic) === done) this.subscribing.delete(topic);
    });
    this.subscribing.set(topic, done);
    return done;
  }

  /**
   * Reads the stream's head, then SUBSCRIBEs (anything stored after the head is delivered live or read when
   * catching up). While the subscriber connection is down, resolves at once: onSubscriberReady subscribes
   * the topic and catches up from the head.
   */
  private async join(topic: string): Promise<void> {
    if (!this.available) throw new EngineUnavailable('redis unavailable');
    const head = await this.read(topic, 'catchup', undefined, 0);
    if (this.states.has(topic) || !this.subscribing.has(topic) || this.closed) return; // unsubscribed meanwhile
    const state: TopicState = { epoch: head.epoch, last: head.last, held: [], overflow: false };
    this.states.set(topic, state);
    const sub = this.sub;
    if (!this.subReady || sub === undefined) return; // onSubscriberReady subscribes it and catches up
    try {
      await sub.subscribe(this.channel(topic));
    } catch {
      return; // the connection dropped: onSubscriberReady subscribes it and catches up
    }
    if (this.states.get(topic) === state && state.held !== undefined && !state.overflow && state.held.length === 0) state.held = undefined;
    else if (this.states.get(topic) === state) void this.catchUp(topic, state);
  }

  unsubscribe(topic: string): void {
    this.subscribing.delete(topic);
    if (!this.states.delete(topic)) return;
    if (this.subReady && this.sub !== undefined) this.sub.unsubscribe(this.channel(topic)).catch(() => {});
  }

  async history(topic: string, since: Position | undefined): Promise<History> {
    if (!this.available) throw new EngineUnavailable('redis unavailable');
    const reply = await this.read(topic, 'history', since, this.maxFrames);
    const epoch = reply.epoch ?? randomBytes(EPOCH_BYTES);
    return {
      epoch: new Uint8Array(epoch),
      recovered: since !== undefined && reply.recovered,
      publications: reply.entries.map((e) => ({ offset: e.offset, frame: e.frame, from: this.from(e.tag) })),
      head: reply.last,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.decided?.();
    this.states.clear();
    const connections = [this.cmd, this.sub].filter((c): c is Redis => c !== undefined);
    await Promise.allSettled(connections.map((c) => (c.status === 'ready' ? c.quit() : Promise.resolve('OK'))));
    for (const c of connections) c.disconnect();
  }

  // --- connection state ---

  /** Loads the scripts and checks the run id, then reports the engine available and catches up. */
  private async onCommandReady(cmd: Redis): Promise<void> {
    try {
      const info = await cmd.info('server');
      const runId = /run_id:([0-9a-f]+)/.exec(info)?.[1];
      if (this.runId !== undefined && runId !== this.runId) this.log('warn', 'redis restarted', { runId });
      this.runId = runId;
      await Promise.all([cmd.script('LOAD', APPEND_SCRIPT.source), cmd.script('LOAD', READ_SCRIPT.source)]);
    } catch (e) {
      this.setAvailable(false, `redis: ${(e as Error).message}`);
      return;
    }
    if (cmd.status !== 'ready' || this.closed) return;
    this.setAvailable(true, 'redis ready');
    void this.recover();
  }

  private setAvailable(available: boolean, reason: string): void {
    if (this.closed) return;
    this.ready = available;
    this.decided?.();
    this.decided = undefined;
    if (this.reported === available) return;
    this.reported = available;
    this.log(available ? 'info' : 'warn', available ? 'redis engine available' : 'redis engine unavailable', { reason });
    this.listener?.availability(available, reason);
  }

  /** Subscribes every topic again, each held until it has caught up. */
  private async onSubscriberReady(sub: Redis): Promise<void> {
    if (this.closed) return;
    const channels: string[] = [];
    for (const [topic, state] of this.states) {
      state.held ??= [];
      channels.push(this.channel(topic));
    }
    try {
      for (let i = 0; i < channels.length; i += SUBSCRIBE_BATCH) await sub.subscribe(...channels.slice(i, i + SUBSCRIBE_BATCH));
    } catch {
      return; // closed again: the next 'ready' retries
    }
    if (sub.status !== 'ready' || this.closed) return;
    this.subReady = true;
    this.log('info', 'redis subscriber connected', { topics: channels.length });
    void this.recover();
  }

  private onSubscriberClosed(): void {
    if (!this.subReady) return;
    this.subReady = false;
    this.log('warn', 'redis subscriber disconnected', { topics: this.states.size });
    for (const state of this.states.values()) state.held ??= [];
  }

  /** Catches up every held topic, once both connections are ready. */
  private async recover(): Promise<void> {
    if (this.recovering) {
      this.recoverAgain = true;
      return;
    }
    this.recovering = true;
    try {
      do {
        this.recoverAgain = false;
        if (!this.available || !this.subReady) return;
        for (const [topic, state] of this.states) if (state.held !== undefined) await this.catchUp(topic, state);
      } while (this.recoverAgain);
    } finally {
      this.recovering = false;
    }
  }

  /** Reads the stream after the last delivered offset, delivers it, then the held notifications. */
  private async catchUp(topic: string, state: TopicState): Promise<void> {
    try {
      for (;;) {
        state.overflow = false;
        const since = state.epoch === undefined ? undefined : { epoch: state.epoch, offset: state.last };
        const reply = await this.read(topic, 'catchup', since, this.maxFrames);
        if (this.states.get(topic) !== state) return;
        if (reply.epoch !== undefined) for (const e of reply.entries) this.deliver(topic, state, reply.epoch, this.publication(e), true);
        if (state.overflow || (reply.recovered && reply.entries.length === this.maxFrames)) continue;
        break;
      }
    } catch {
      // Unavailable again (recover() runs on the next connect) or a passing error: try again shortly.
      if (!this.closed && this.available && this.subReady) setTimeout(() => void this.recover(), CATCH_UP_RETRY_MS).unref();
      return;
    }
    const held = state.held ?? [];
    state.held = undefined;
    for (const r of held) this.deliver(topic, state, r.epoch, r.publication, true);
  }

  // --- notifications ---

  private onNotification(channel: Buffer, message: Buffer): void {
    const topic = this.topicOf(channel.toString('utf8'));
    const state = topic === undefined ? undefined : this.states.get(topic);
    if (topic === undefined || state === undefined) return;
    const received = this.parseNotification(message);
    if (received === undefined) return;
    if (state.held === undefined) this.deliver(topic, state, received.epoch, received.publication, false);
    else if (state.held.length < MAX_HELD) state.held.push(received);
    else {
      state.held.length = 0;
      state.overflow = true;
    }
  }

  /**
   * Hands a publication to the listener unless it was delivered already: same epoch and not after `last`;
   * when catching up (`merging`), nothing at or before `last` whatever its epoch (a notification held from
   * before an epoch bump was read from the stream already).
   */
  private deliver(topic: string, state: TopicState, epoch: Buffer, publication: Publication, merging: boolean): void {
    const sameEpoch = state.epoch !== undefined && state.epoch.equals(epoch);
    if ((sameEpoch || merging) && compareOffsets(publication.offset, state.last) <= 0) return;
    state.epoch = epoch;
    state.last = publication.offset;
    this.listener?.publication(topic, new Uint8Array(epoch), publication);
  }

  /** `[epoch 8][id length 1][id][tag length 1][tag][frame]` */
  private parseNotification(m: Buffer): Received | undefined {
    if (m.length < EPOCH_BYTES + 2) return undefined;
    const idEnd = EPOCH_BYTES + 1 + m[EPOCH_BYTES]!;
    if (idEnd + 1 > m.length) return undefined;
    const tagEnd = idEnd + 1 + m[idEnd]!;
    if (tagEnd > m.length) return undefined;
    const offset = parseStreamId(m.toString('latin1', EPOCH_BYTES + 1, idEnd));
    if (offset === undefined) return undefined;
    const from = this.from(m.toString('latin1', idEnd + 1, tagEnd));
    return { epoch: m.subarray(0, EPOCH_BYTES), publication: { offset, frame: m.subarray(tagEnd), from } };
  }

  private publication(e: { offset: Offset; frame: Buffer; tag: string }): Publication {
    return { offset: e.offset, frame: e.frame, from: this.from(e.tag) };
  }

  /** The connection id of a publisher tag from this node, 0 for any other node. */
  private from(tag: string): number {
    const colon = tag.indexOf(':');
    if (colon < 0 || tag.slice(0, colon) !== this.nodeId) return 0;
    const id = Number(tag.slice(colon + 1));
    return Number.isSafeInteger(id) ? id : 0;
  }

  // --- commands ---

  private async read(topic: string, mode: 'history' | 'catchup', since: Position | undefined, limit: number): Promise<ReadReply> {
    const cmd = this.cmd;
    if (cmd === undefined || !this.available) throw new EngineUnavailable('redis unavailable');
    let reply: unknown;
    try {
      reply = await evalshaBuffer(cmd)(
        READ_SCRIPT.sha,
        2,
        this.streamKey(topic),
        this.epochKey(topic),
        mode,
        since === undefined ? '' : Buffer.from(since.epoch),
        formatStreamId(since?.offset ?? START),
        limit,
        this.replayMs,
        this.candidate(),
        this.ttlMs,
      );
    } catch (e) {
      throw this.failed(e);
    }
    return parseRead(reply);
  }

  /** Any command failure as EngineUnavailable; a lost script cache (SCRIPT FLUSH) reloads it. */
  private failed(e: unknown): EngineUnavailable {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith('NOSCRIPT') && this.cmd !== undefined) {
      this.setAvailable(false, 'redis lost the engine scripts');
      void this.onCommandReady(this.cmd);
    }
    return new EngineUnavailable(`redis: ${message}`);
  }

  /** A fresh random epoch, in case the script needs one (a new or lost stream, a bump). */
  private candidate(): Buffer {
    if (this.pool.length < EPOCH_BYTES) this.pool = randomBytes(EPOCH_BYTES * 512);
    const epoch = this.pool.subarray(0, EPOCH_BYTES);
    this.pool = this.pool.subarray(EPOCH_BYTES);
    return epoch;
  }

  private streamKey(topic: string): string {
    return `${this.prefix}s:{${topic}}`;
  }

  private epochKey(topic: string): string {
    return `${this.prefix}e:{${topic}}`;
  }

  private channel(topic: string): string {
    return `${this.prefix}n:{${topic}}`;
  }

  private topicOf(channel: string): string | undefined {
    const head = `${this.prefix}n:{`;
    return channel.startsWith(head) && channel.endsWith('}') ? channel.slice(head.length, -1) : undefined;
  }
}

/**
 * EVALSHA with Buffer replies. ioredis defines a Buffer variant of every command at run time (evalshaBuffer,
 * auto-pipelined like the others; `callBuffer('EVALSHA', ...)` loses its command name when auto-pipelined in
 * ioredis 5.11) but does not declare this one.
 */
type EvalShaBuffer = (sha: string, numkeys: number, ...args: (string | Buffer | number)[]) => Promise<unknown>;

function evalshaBuffer(redis: Redis): EvalShaBuffer {
  const fn = (redis as unknown as { evalshaBuffer?: EvalShaBuffer }).evalshaBuffer;
  if (typeof fn !== 'function') throw new Error('ioredis without evalshaBuffer');
  return (...args) => fn.apply(redis, args);
}

// --- replies ---

function bad(what: string): EngineUnavailable {
  return new EngineUnavailable(`redis: unexpected reply (${what})`);
}

function asBuffer(v: unknown, what: string): Buffer {
  if (!Buffer.isBuffer(v)) throw bad(what);
  return v;
}

function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw bad(what);
  return v;
}

function asOffset(v: unknown, what: string): Offset {
  const offset = parseStreamId(asBuffer(v, what).toString('latin1'));
  if (offset === undefined) throw bad(what);
  return offset;
}

function asEpoch(v: unknown): Buffer {
  const epoch = asBuffer(v, 'epoch');
  if (epoch.length !== EPOCH_BYTES) throw bad('epoch');
  return epoch;
}

function parseAppend(reply: unknown): { epoch: Uint8Array; offset: Offset } {
  const [epoch, id] = asArray(reply, 'append');
  return { epoch: new Uint8Array(asEpoch(epoch)), offset: asOffset(id, 'id') };
}

function parseRead(reply: unknown): ReadReply {
  const [epoch, recovered, last, entries, reversed] = asArray(reply, 'read');
  const list = asArray(entries, 'entries').map((entry) => {
    const [id, fields] = asArray(entry, 'entry');
    const f = asArray(fields, 'fields');
    let frame: Buffer | undefined;
    let tag = '';
    for (let i = 0; i + 1 < f.length; i += 2) {
      const name = asBuffer(f[i], 'field').toString('latin1');
      if (name === 'f') frame = asBuffer(f[i + 1], 'frame');
      else if (name === 't') tag = asBuffer(f[i + 1], 'tag').toString('latin1');
    }
    if (frame === undefined) throw bad('frame');
    return { offset: asOffset(id, 'id'), frame, tag };
  });
  if (reversed === 1) list.reverse();
  return {
    epoch: epoch === null ? undefined : asEpoch(epoch),
    recovered: recovered === 1,
    last: asOffset(last, 'last-generated-id'),
    entries: list,
  };
}
