/**
 * Routing (PROTOCOL-RELAY.md §3): what a connection's messages mean. PUBLISH is stored by the engine, then
 * acknowledged (acks.ts); SUBSCRIBE joins a topic: SUBSCRIBED, the history, then live DELIVERs, in stream order;
 * every publication the engine reports goes to the topic's local subscribers but its publisher. Frames are never
 * decoded. Sockets, limits and closes are connections.ts's business.
 */
import type { RawData } from 'ws';
import type { Connections, Conn } from './connections.js';
import { EngineUnavailable, compareOffsets, type Engine, type History, type Offset, type Position, type Publication } from './engine.js';
import type { MemoryEngine } from './memory-engine.js';
import type { DropReason, Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { CloseCode, ErrorCode, Op, decodeInbound, encodeDeliver, encodeError, encodeNack, encodeSubscribed } from './protocol.js';

/** Live publications held for a subscriber while its history is read; beyond this it is closed 4010 and resumes. */
const MAX_HELD_PER_SUBSCRIBE = 4096;

/** Local subscribers of one topic; `ready` until the engine's subscription is confirmed, then undefined. */
interface TopicState {
  subs: Set<Conn>;
  ready: Promise<void> | undefined;
}

/** A subscription whose history is being read: live publications wait here, then follow the history in order. */
export interface Catchup {
  held: { epoch: Uint8Array; publication: Publication }[];
}

/** What routing needs from the relay around it. */
export interface RouterContext {
  /** Sends, closes and limits (connections.ts). */
  conns: Connections;
  o: ResolvedOptions;
  stats: Metrics;
  engine: Engine;
  /** The engine when it is the memory engine (its publications settle synchronously: publish's fast path). */
  memory: MemoryEngine | undefined;
  /** Why PUBLISH is refused with NACK 7 now (draining, or the engine cannot store), or undefined. */
  refusing(): string | undefined;
  guard(fn: () => void): void;
}

export class Router {
  /** Topics with local subscribers. */
  readonly topics = new Map<string, TopicState>();
  private readonly conns: Connections;

  constructor(private readonly c: RouterContext) {
    this.conns = c.conns;
  }

  /** §3.1 One message from a connection (not closing). */
  message(conn: Conn, data: RawData, isBinary: boolean): void {
    if (!isBinary) return this.conns.close(conn, CloseCode.unsupportedData, 'binary messages only');
    const msg = toBuffer(data);
    const m = decodeInbound(msg);
    const now = performance.now();
    // §3.1 Every message with the PUBLISH opcode has the next sequence number, whatever it holds.
    if (msg[0] === Op.publish) return this.publish(conn, msg, m, conn.acks.next(), now);
    switch (m.kind) {
      case 'subscribe':
        return this.subscribe(conn, m.topic, m.since, now);
      case 'unsubscribe':
        if (!conn.subs.take(now)) return this.conns.rateLimited(conn, m.topic, now);
        return this.leave(conn, m.topic);
      case 'error':
        if (!conn.frames.take(now)) return this.conns.rateLimited(conn, '', now);
        return this.conns.reject(conn, m.code === ErrorCode.badTopic ? 'bad_topic' : 'malformed', m.code, m.topic, m.reason);
      case 'publish':
        return; // unreachable: decodeInbound gives 'publish' only for the PUBLISH opcode
    }
  }

  /** §3.1 A PUBLISH: stored by the engine (then acknowledged), or refused with a NACK naming its sequence number. */
  private publish(conn: Conn, msg: Buffer, m: ReturnType<typeof decodeInbound>, seq: number, now: number): void {
    if (!conn.frames.take(now)) {
      this.conns.rateLimited(conn, m.kind === 'publish' ? m.topic : '', now, seq);
      return conn.acks.settled();
    }
    if (m.kind !== 'publish') return this.refusePublish(conn, seq, m.kind === 'error' && m.code === ErrorCode.badTopic ? 'bad_topic' : 'malformed', m.kind === 'error' ? m.code : ErrorCode.malformed);
    if (this.conns.outOfScope(conn, m.topic, seq)) return conn.acks.settled();
    if (m.frameBytes > this.c.o.maxFrameBytes) return this.refusePublish(conn, seq, 'frame_too_large', ErrorCode.frameTooLarge);
    if (this.c.refusing() !== undefined) return this.refusePublish(conn, seq, 'unavailable', ErrorCode.unavailable);
    const stats = this.c.stats;
    stats.framesIn++;
    stats.bytesIn += msg.length;
    if (this.c.memory !== undefined) {
      // The memory engine stores synchronously: the PUBLISH is settled now (nothing of it is pending), without
      // a promise and two closures per frame.
      this.c.memory.append(m.topic, msg.subarray(m.frameStart), conn.id);
      return conn.acks.settled();
    }
    conn.acks.hold(seq);
    const engine = this.c.engine;
    const frame = msg.subarray(m.frameStart);
    if (engine.store !== undefined) {
      // Without a promise or a closure per frame: an engine settles a node's PUBLISHes in call order, so the one
      // it settles is always the connection's oldest held (the Redis engine: from its batch's reply).
      conn.settle ??= (e) => this.c.guard(() => (e === undefined ? conn.acks.stored(conn.acks.oldest()) : this.publishFailed(conn, conn.acks.oldest(), e)));
      return engine.store(m.topic, frame, conn.id, conn.settle);
    }
    engine.publish(m.topic, frame, conn.id).then(
      () => this.c.guard(() => conn.acks.stored(seq)),
      (e: unknown) => this.c.guard(() => this.publishFailed(conn, seq, e)),
    );
  }

  /** The engine could not store PUBLISH `seq`: NACK 7 (§3.3), the client may send it again. */
  private publishFailed(conn: Conn, seq: number, e: unknown): void {
    if (!(e instanceof EngineUnavailable)) this.c.o.logger('error', 'engine publish failed', { error: e instanceof Error ? e.message : String(e) });
    this.conns.send(conn, encodeNack(seq, ErrorCode.unavailable));
    this.c.stats.drop('unavailable');
    conn.acks.stored(seq);
  }

  private refusePublish(conn: Conn, seq: number, reason: DropReason, code: number): void {
    this.c.stats.drop(reason);
    this.conns.send(conn, encodeNack(seq, code));
    conn.acks.settled();
  }

  /** A publication of a topic this node serves (from any node, in stream order): to every live subscriber but its publisher. */
  publication(topic: string, epoch: Uint8Array, p: Publication): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    let deliver: Buffer | undefined;
    for (const conn of state.subs) {
      if (conn.id === p.from) continue;
      const catchup = conn.pending.size > 0 ? conn.pending.get(topic) : undefined;
      if (catchup !== undefined) {
        catchup.held.push({ epoch, publication: p });
        if (catchup.held.length > MAX_HELD_PER_SUBSCRIBE) this.conns.slowConsumer(conn);
        continue;
      }
      deliver ??= encodeDeliver(topic, epoch, p.offset, p.frame);
      this.deliver(conn, deliver);
    }
  }

  /**
   * §3.4 Joins a topic: once the engine delivers the topic's publications to this node, the connection gets
   * SUBSCRIBED (the stream's epoch; RECOVERED when `since` could be honoured), then the history (everything
   * after `since`, or the recent window), then the live publications that arrived meanwhile, in order.
   */
  private subscribe(conn: Conn, topic: string, since: Position | undefined, now: number): void {
    if (!conn.subs.take(now)) return this.conns.rateLimited(conn, topic, now);
    if (this.conns.outOfScope(conn, topic)) return;
    // A SUBSCRIBE for a topic the connection has starts it again from `since` (a client that got no answer in
    // time sends it again, with its position): the earlier one, if still pending, is never answered.
    this.leave(conn, topic);
    if (conn.topics.size >= this.c.o.maxTopicsPerConnection) {
      return this.conns.reject(conn, 'too_many_topics', ErrorCode.tooManyTopics, topic, 'too many topics');
    }
    conn.topics.add(topic);
    const catchup: Catchup = { held: [] };
    conn.pending.set(topic, catchup);
    const engine = this.c.engine;
    let state = this.topics.get(topic);
    if (state === undefined) {
      const created: TopicState = { subs: new Set(), ready: undefined };
      state = created;
      this.topics.set(topic, created);
      created.ready = engine.subscribe(topic).then(
        () => void (created.ready = undefined),
        (e: unknown) => {
          // Every connection waiting on it is told ERROR 7 (below) and leaves; the next SUBSCRIBE tries again.
          if (this.topics.get(topic) === created) this.topics.delete(topic);
          throw e;
        },
      );
    }
    state.subs.add(conn);
    void Promise.resolve(state.ready)
      .then(() => (conn.pending.get(topic) === catchup ? engine.history(topic, since) : undefined))
      .then(
        (history) => this.c.guard(() => history !== undefined && this.caughtUp(conn, topic, catchup, history)),
        () =>
          this.c.guard(() => {
            // The engine cannot read the stream now: the client tries again (ERROR 7 on the topic).
            if (conn.pending.get(topic) !== catchup) return;
            this.leave(conn, topic);
            this.conns.send(conn, encodeError(ErrorCode.unavailable, topic, 'the relay cannot read this topic now'));
          }),
      );
  }

  /** SUBSCRIBED, the history, then what arrived while it was read (only what follows the history). */
  private caughtUp(conn: Conn, topic: string, catchup: Catchup, { epoch, recovered, publications, head }: History): void {
    if (conn.pending.get(topic) !== catchup) return; // unsubscribed (or closed) meanwhile
    conn.pending.delete(topic);
    if (!this.conns.send(conn, encodeSubscribed(topic, epoch, head, recovered))) return;
    let last: Offset | undefined;
    for (const p of publications) {
      last = p.offset;
      if (p.from === conn.id) continue;
      if (!this.deliver(conn, encodeDeliver(topic, epoch, p.offset, p.frame))) return;
    }
    for (const { epoch: e, publication: p } of catchup.held) {
      if (last !== undefined && equalEpoch(e, epoch) && compareOffsets(p.offset, last) <= 0) continue; // in the history already
      if (!this.deliver(conn, encodeDeliver(topic, e, p.offset, p.frame))) return;
    }
  }

  /** §3.1 UNSUBSCRIBE (and a SUBSCRIBE starting again, or one the engine could not serve): delivery of `topic` to `conn` stops at once. */
  private leave(conn: Conn, topic: string): void {
    if (!conn.topics.delete(topic)) return;
    conn.pending.delete(topic);
    const state = this.topics.get(topic);
    if (state === undefined) return;
    state.subs.delete(conn);
    if (state.subs.size === 0) {
      this.topics.delete(topic);
      this.c.engine.unsubscribe(topic);
    }
  }

  /** Removes a connection from every topic (idempotent). */
  detach(conn: Conn): void {
    for (const topic of conn.topics) this.leave(conn, topic);
  }

  private deliver(conn: Conn, deliver: Buffer): boolean {
    if (!this.conns.send(conn, deliver)) return false;
    this.c.stats.framesOut++;
    this.c.stats.bytesOut += deliver.length;
    return true;
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function equalEpoch(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
}
