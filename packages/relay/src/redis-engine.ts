/**
 * The Redis engine (engine.ts; PROTOCOL-RELAY.md §3.4 retention and offsets, §6 several nodes): every topic's
 * stream is a Redis Stream, shared by any number of relay nodes on one Redis or one Redis Cluster. This file
 * owns the connections and the engine's availability; the parts live beside it:
 * - redis-scripts.ts: the keys and the Lua scripts (APPEND: per topic epoch, XADD a batch, trim, expiry, one
 *   SPUBLISH; READ: epoch, XINFO STREAM and the range, for history() and for catching up), atomic, one call
 *   each, on the keys of one slot (READ: one topic);
 * - redis-appender.ts: the command path, publish() batched per stream per tick, several streams per APPEND call;
 * - redis-client.ts: the command connection (ioredis Redis, or Cluster: routed by slot, redirections followed);
 * - redis-shard-subscriber.ts: the notification connections (SSUBSCRIBE on the node serving each slot);
 * - redis-subscriptions.ts: the subscriber side, notifications and the catch-up after a subscription was lost;
 * - redis-wire.ts: stream ids, replies and the notification format.
 *
 * Availability: commands never wait in ioredis' offline queue; while the command connection is not ready,
 * publish(), history() and subscribe() reject with EngineUnavailable at once, and the listener hears of each
 * change once. Scripts are loaded on every connect (in a cluster: on every node the client learns of,
 * replicas included, so that a promoted replica has them), and again when Redis lost them (NOSCRIPT).
 * In a cluster, a command on a slot whose primary is down fails (EngineUnavailable: NACK 7, the client sends
 * it again) while the others go on: the engine stays available while the cluster client is connected.
 *
 * Loss detection: a stream that expired or was lost gets a new epoch at its next publication. A position
 * beyond the stream's `last-generated-id` (Redis lost a tail, e.g. a crash between AOF fsyncs) bumps the
 * epoch, found by history() or by a node catching up after a reconnect (the run id from INFO is checked on
 * every connect and a restart is logged). Not detected: a lost tail when no node held a position in it and
 * no client asks with one; a Redis that evicts keys (configure maxmemory-policy noeviction). In a cluster, a
 * failover (a replica promoted in place of a dead primary) gives the streams of that shard a new epoch at
 * their next read or append (GENERATION in redis-scripts.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { EPOCH_BYTES, EngineUnavailable, START, type Engine, type EngineListener, type History, type Offset, type Position } from './engine.js';
import { Appender, type Settle } from './redis-appender.js';
import { commandClient, redisAddress, type RedisClient } from './redis-client.js';
import { redisEngineSettings, type RedisEngineOptions, type RedisEngineSettings } from './redis-options.js';
import { APPEND_SCRIPT, READ_SCRIPT, topicKeys } from './redis-scripts.js';
import { ShardSubscriber } from './redis-shard-subscriber.js';
import { Subscriptions } from './redis-subscriptions.js';
import { formatStreamId, parseRead, tagConnection, type ReadReply } from './redis-wire.js';


/** How long start() waits for a cluster client's first 'ready'. */
const CLUSTER_START_MS = 5_000;

export function createRedisEngine(options: RedisEngineOptions): Engine {
  return new RedisEngine(redisEngineSettings(options));
}

class RedisEngine implements Engine {
  readonly kind = 'redis';
  /** Stored in every publisher tag: `from` is the connection id only for this node's own publications. */
  private readonly nodeId = randomBytes(8).toString('hex');
  private readonly nodeIdBytes = Buffer.from(this.nodeId, 'latin1');
  private readonly appender: Appender;
  private readonly subscriptions: Subscriptions;
  private listener: EngineListener | undefined;
  private cmd: RedisClient | undefined;
  private ready = false;
  private reported: boolean | undefined;
  private runId: string | undefined;
  private closed = false;
  /** Scripts are being loaded again after a NOSCRIPT (cluster). */
  private reloading = false;
  /** Random bytes handed out EPOCH_BYTES at a time as candidate epochs. */
  private pool = Buffer.alloc(0);
  /** Resolves start() once the first connection attempt succeeded or failed. */
  private decided: (() => void) | undefined;

  constructor(private readonly s: RedisEngineSettings) {
    this.appender = new Appender(s, this.nodeId, APPEND_SCRIPT.sha, {
      send: (call) => (this.available && this.cmd !== undefined ? (this.cmd.sendCommand(call) as Promise<unknown>) : undefined),
      candidate: () => this.candidate(),
      failed: (e) => this.failed(e),
    });
    this.subscriptions = new Subscriptions(s.keyPrefix, this.nodeIdBytes, s.maxFrames, {
      available: () => this.available,
      read: (topic, mode, since, limit) => this.read(topic, mode, since, limit),
      listener: () => this.listener,
      log: s.logger,
    });
  }

  get available(): boolean {
    return this.ready && !this.closed;
  }

  get topics(): number {
    return this.subscriptions.size;
  }

  get bytes(): number {
    return 0;
  }

  async start(listener: EngineListener): Promise<void> {
    if (this.listener !== undefined) throw new Error('start() may be called once');
    this.listener = listener;
    const cmd = commandClient(this.s, true);
    this.cmd = cmd;
    const cluster = this.s.cluster ? (cmd as Cluster) : undefined;
    cmd.on('error', (e: Error) => this.setAvailable(false, `redis: ${e.message}`));
    cmd.on('close', () => this.setAvailable(false, 'redis connection closed'));
    cmd.on('ready', () => void this.onCommandReady(cmd));
    cluster?.on('+node', (node: Redis) => void loadScripts(node).catch(() => {}));
    this.subscriptions.attach(
      new ShardSubscriber(redisAddress(this.s.urls[0]!), this.s.cluster, {
        message: (channel, head, body) => this.subscriptions.notification(channel, head, body),
        lost: (channel) => this.subscriptions.lost(channel),
        route: (slot) => cluster?.slots[slot]?.[0],
      }),
    );
    const decided = new Promise<void>((resolve) => (this.decided = resolve));
    // A cluster client reports 'close' between its first attempts (a seed that is not ready, a slot map being
    // read): it decides on 'ready', or after CLUSTER_START_MS.
    if (cluster !== undefined) setTimeout(() => this.decide(), CLUSTER_START_MS).unref();
    cmd.connect().catch(() => {});
    await decided;
  }

  /** Stored once Redis ran the APPEND call that carries it (redis-appender.ts); settled in call order. */
  publish(topic: string, frame: Uint8Array, from: number): Promise<{ epoch: Uint8Array; offset: Offset }> {
    return new Promise((resolve, reject) => this.append(topic, frame, from, (e, stored) => (e === undefined ? resolve({ epoch: stored!.epoch, offset: stored!.offset }) : reject(e)), true));
  }

  store(topic: string, frame: Uint8Array, from: number, settled: (error: unknown) => void): void {
    this.append(topic, frame, from, settled, false);
  }

  private append(topic: string, frame: Uint8Array, from: number, settled: Settle, wants: boolean): void {
    if (!this.available) this.appender.refuse(new EngineUnavailable('redis unavailable'), settled);
    else this.appender.append(topic, frame, from, settled, wants);
  }

  subscribe(topic: string): Promise<void> {
    return this.subscriptions.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.subscriptions.unsubscribe(topic);
  }

  async history(topic: string, since: Position | undefined): Promise<History> {
    if (!this.available) throw new EngineUnavailable('redis unavailable');
    const reply = await this.read(topic, 'history', since, this.s.maxFrames);
    await this.subscriptions.reached(topic, reply.epoch, reply.last);
    const epoch = reply.epoch ?? randomBytes(EPOCH_BYTES);
    return {
      epoch: new Uint8Array(epoch),
      recovered: since !== undefined && reply.recovered,
      publications: reply.entries.map((e) => ({ offset: e.offset, frame: e.frame, from: tagConnection(e.tag, this.nodeIdBytes) })),
      head: reply.last,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.decided?.();
    this.subscriptions.close();
    const cmd = this.cmd;
    if (cmd === undefined) return;
    if (cmd.status === 'ready') await cmd.quit().catch(() => {});
    cmd.disconnect();
  }

  // --- connection state ---

  /** Loads the scripts and checks the run id, then reports the engine available and catches up. */
  private async onCommandReady(cmd: RedisClient): Promise<void> {
    try {
      if (this.s.cluster) {
        // Every node the client knows of; a node it learns of later gets them on '+node'.
        await Promise.all((cmd as Cluster).nodes().map((node) => loadScripts(node).catch(() => {})));
      } else {
        const info = await cmd.info('server');
        const runId = /run_id:([0-9a-f]+)/.exec(info)?.[1];
        if (this.runId !== undefined && runId !== this.runId) this.s.logger('warn', 'redis restarted', { runId });
        this.runId = runId;
        await loadScripts(cmd as Redis);
      }
    } catch (e) {
      this.setAvailable(false, `redis: ${(e as Error).message}`);
      return;
    }
    if (cmd.status !== 'ready' || this.closed) return;
    this.appender.forget();
    this.setAvailable(true, 'redis ready');
    this.subscriptions.commandReady();
  }

  private setAvailable(available: boolean, reason: string): void {
    if (this.closed) return;
    this.ready = available;
    if (available || !this.s.cluster) this.decide();
    if (this.reported === available) return;
    this.reported = available;
    this.s.logger(available ? 'info' : 'warn', available ? 'redis engine available' : 'redis engine unavailable', { reason });
    this.listener?.availability(available, reason);
  }

  /** Resolves start(). */
  private decide(): void {
    this.decided?.();
    this.decided = undefined;
  }

  // --- commands ---

  private async read(topic: string, mode: 'history' | 'catchup', since: Position | undefined, limit: number): Promise<ReadReply> {
    const cmd = this.cmd;
    if (cmd === undefined || !this.available) throw new EngineUnavailable('redis unavailable');
    const keys = topicKeys(this.s.keyPrefix, topic);
    let reply: unknown;
    try {
      reply = await evalshaBuffer(cmd, [
        READ_SCRIPT.sha,
        2,
        keys.stream,
        keys.epoch,
        mode,
        since === undefined ? '' : Buffer.from(since.epoch),
        formatStreamId(since?.offset ?? START),
        limit,
        this.s.replayMs,
        this.candidate(),
        this.s.expiryMs,
        this.s.cluster ? '1' : '0',
      ]);
    } catch (e) {
      throw this.failed(e);
    }
    return parseRead(reply);
  }

  /**
   * Any command failure as EngineUnavailable; a lost script cache (SCRIPT FLUSH, a restart) reloads it: one
   * Redis is unavailable meanwhile, a cluster loads them again on every node and stays available.
   */
  private failed(e: unknown): EngineUnavailable {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith('NOSCRIPT') && this.cmd !== undefined) {
      if (!this.s.cluster) this.setAvailable(false, 'redis lost the engine scripts');
      if (!this.s.cluster || !this.reloading) {
        this.reloading = true;
        void this.onCommandReady(this.cmd).finally(() => (this.reloading = false));
      }
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
}

/**
 * EVALSHA with Buffer replies. ioredis defines a Buffer variant of every command at run time (evalshaBuffer,
 * auto-pipelined like the others; `callBuffer('EVALSHA', ...)` loses its command name when auto-pipelined in
 * ioredis 5.11) but does not declare this one.
 */
type EvalShaBuffer = (...args: (string | Buffer | number)[]) => Promise<unknown>;

function evalshaBuffer(redis: RedisClient, args: (string | Buffer | number)[]): Promise<unknown> {
  const fn = (redis as unknown as { evalshaBuffer?: EvalShaBuffer }).evalshaBuffer;
  if (typeof fn !== 'function') throw new Error('ioredis without evalshaBuffer');
  return fn.apply(redis, args);
}

/** SCRIPT LOAD of both scripts on one node. */
async function loadScripts(node: Redis): Promise<void> {
  await Promise.all([node.script('LOAD', APPEND_SCRIPT.source), node.script('LOAD', READ_SCRIPT.source)]);
}
