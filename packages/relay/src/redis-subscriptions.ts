/**
 * The Redis engine's subscriber side (PROTOCOL-RELAY.md §6): which topics this node follows, the pub/sub
 * notifications that carry their publications, and the catch-up after every (re)subscription.
 *
 * The subscriber connection is managed here (no auto-resubscribe): on every (re)connect it subscribes every
 * topic again, then reads each stream after the last offset this node delivered and hands that over before
 * the notifications that arrived meanwhile (merged by offset, no duplicates). A node that finds frames
 * trimmed past its own last delivered offset, or its last offset beyond the stream (a lost tail), bumps the
 * epoch (READ in catch-up mode, redis-scripts.ts): engine.ts has no per-node gap signal.
 */
import type { Redis } from 'ioredis';
import { EPOCH_BYTES, EngineUnavailable, compareOffsets, type EngineListener, type Offset, type Position, type Publication } from './engine.js';
import type { RelayLogger } from './logger.js';
import { channelTopic, topicKeys } from './redis-scripts.js';
import { parseNotification, tagConnection, type Entry, type ReadReply } from './redis-wire.js';

/** Notifications held per topic while it catches up; beyond, they are dropped and the catch-up reads again. */
const MAX_HELD = 10_000;
/** A catch-up that failed while both connections are up is tried again after this. */
const CATCH_UP_RETRY_MS = 1_000;
/** Channels per SUBSCRIBE command when resubscribing. */
const SUBSCRIBE_BATCH = 500;

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

/** What the subscriptions need of the engine. */
export interface SubscriptionsLink {
  /** The command connection is ready. */
  available(): boolean;
  /** READ (redis-scripts.ts) of a topic's stream. */
  read(topic: string, mode: 'history' | 'catchup', since: Position | undefined, limit: number): Promise<ReadReply>;
  listener(): EngineListener | undefined;
  log: RelayLogger;
}

export class Subscriptions {
  private readonly states = new Map<string, TopicState>();
  private readonly subscribing = new Map<string, Promise<void>>();
  private sub: Redis | undefined;
  private subReady = false;
  private recovering = false;
  private recoverAgain = false;
  private closed = false;

  constructor(
    private readonly prefix: string,
    /** This node's id (ASCII), the head of its publisher tags. */
    private readonly nodeId: Buffer,
    private readonly maxFrames: number,
    private readonly link: SubscriptionsLink,
  ) {}

  /** Topics subscribed on this node. */
  get size(): number {
    return this.states.size;
  }

  /** Takes charge of the subscriber connection (created by the engine with autoResubscribe off). */
  attach(sub: Redis): void {
    this.sub = sub;
    sub.on('close', () => this.onClosed());
    sub.on('ready', () => void this.onReady(sub));
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onNotification(channel, message));
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

  unsubscribe(topic: string): void {
    this.subscribing.delete(topic);
    if (!this.states.delete(topic)) return;
    if (this.subReady && this.sub !== undefined) this.sub.unsubscribe(this.channel(topic)).catch(() => {});
  }

  close(): void {
    this.closed = true;
    this.states.clear();
  }

  /** The command connection became ready: catch up every held topic (once the subscriber is ready too). */
  commandReady(): void {
    void this.recover();
  }

  /**
   * Reads the stream's head, then SUBSCRIBEs (anything stored after the head is delivered live or read when
   * catching up). While the subscriber connection is down, resolves at once: onReady subscribes the topic
   * and catches up from the head.
   */
  private async join(topic: string): Promise<void> {
    if (!this.link.available()) throw new EngineUnavailable('redis unavailable');
    const head = await this.link.read(topic, 'catchup', undefined, 0);
    if (this.states.has(topic) || !this.subscribing.has(topic) || this.closed) return; // unsubscribed meanwhile
    const state: TopicState = { epoch: head.epoch, last: head.last, held: [], overflow: false };
    this.states.set(topic, state);
    const sub = this.sub;
    if (!this.subReady || sub === undefined) return; // onReady subscribes it and catches up
    try {
      await sub.subscribe(this.channel(topic));
    } catch {
      return; // the connection dropped: onReady subscribes it and catches up
    }
    if (this.states.get(topic) === state && state.held !== undefined && !state.overflow && state.held.length === 0) state.held = undefined;
    else if (this.states.get(topic) === state) void this.catchUp(topic, state);
  }

  /** Subscribes every topic again, each held until it has caught up. */
  private async onReady(sub: Redis): Promise<void> {
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
    this.link.log('info', 'redis subscriber connected', { topics: channels.length });
    void this.recover();
  }

  private onClosed(): void {
    if (!this.subReady) return;
    this.subReady = false;
    this.link.log('warn', 'redis subscriber disconnected', { topics: this.states.size });
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
        if (!this.link.available() || !this.subReady) return;
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
        const reply = await this.link.read(topic, 'catchup', since, this.maxFrames);
        if (this.states.get(topic) !== state) return;
        if (reply.epoch !== undefined) for (const e of reply.entries) this.deliver(topic, state, reply.epoch, this.publication(e), true);
        if (state.overflow || (reply.recovered && reply.entries.length === this.maxFrames)) continue;
        break;
      }
    } catch {
      // Unavailable again (recover() runs on the next connect) or a passing error: try again shortly.
      if (!this.closed && this.link.available() && this.subReady) setTimeout(() => void this.recover(), CATCH_UP_RETRY_MS).unref();
      return;
    }
    const held = state.held ?? [];
    state.held = undefined;
    for (const r of held) this.deliver(topic, state, r.epoch, r.publication, true);
  }

  /** One notification: every publication of one APPEND call, in stream order (redis-wire.ts). */
  private onNotification(channel: Buffer, message: Buffer): void {
    const topic = channelTopic(this.prefix, channel.toString('utf8'));
    const state = topic === undefined ? undefined : this.states.get(topic);
    if (topic === undefined || state === undefined) return;
    const epoch = message.subarray(0, EPOCH_BYTES);
    parseNotification(message, (offset, tag, frame) => {
      const publication: Publication = { offset, frame, from: tagConnection(tag, this.nodeId) };
      if (state.held === undefined) this.deliver(topic, state, epoch, publication, false);
      else if (state.held.length < MAX_HELD) state.held.push({ epoch, publication });
      else {
        state.held.length = 0;
        state.overflow = true;
      }
    });
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
    this.link.listener()?.publication(topic, epoch, publication); // a view: listeners never modify it (engine.ts)
  }

  private publication(e: Entry): Publication {
    return { offset: e.offset, frame: e.frame, from: tagConnection(e.tag, this.nodeId) };
  }

  private channel(topic: string): string {
    return topicKeys(this.prefix, topic).channel;
  }
}
