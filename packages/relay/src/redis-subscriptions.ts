/**
 * The Redis engine's subscriber side (PROTOCOL-RELAY.md §6): which topics this node follows, the sharded
 * pub/sub notifications that carry their publications (redis-shard-subscriber.ts), and the catch-up after
 * every (re)subscription.
 *
 * Each topic is synchronised on its own: whenever its subscription is lost (the connection to its node
 * closed, or its slot moved to another node), it is held, SSUBSCRIBEd again (retried with a backoff), then
 * its stream is read after the last offset this node delivered and handed over before the notifications that
 * arrived meanwhile (merged by offset, no duplicates). A node that finds frames trimmed past its own last
 * delivered offset, or its last offset beyond the stream (a lost tail), or a stream whose shard failed over
 * (redis-scripts.ts), bumps the epoch (READ in catch-up mode): engine.ts has no per-node gap signal.
 */
import { EPOCH_BYTES, EngineUnavailable, compareOffsets, type EngineListener, type Offset, type Position, type Publication } from './engine.js';
import type { RelayLogger } from './logger.js';
import { channelTopic, topicKeys } from './redis-scripts.js';
import type { ShardSubscriber } from './redis-shard-subscriber.js';
import { parseNotification, tagConnection, type Entry, type ReadReply } from './redis-wire.js';

/** Notifications held per topic while it catches up; beyond, they are dropped and the catch-up reads again. */
const MAX_HELD = 10_000;
/** history() waits at most this long for the node's notifications to reach the head it read. */
const REACH_MS = 2_000;
/** Retries of a topic's subscription or catch-up wait from this ... */
const RETRY_MIN_MS = 50;
/** ... doubling up to this. */
const RETRY_MAX_MS = 1_000;

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
  /** The channel is subscribed (confirmed, and not lost since). */
  live: boolean;
  /** sync() runs for this topic; `again`: run it once more (the subscription was lost meanwhile). */
  syncing: boolean;
  again: boolean;
  /** Ends sync()'s wait before its next attempt (the command connection is back). */
  wake: (() => void) | undefined;
  /** reached() calls waiting for `last` to reach their head. */
  waiters: { epoch: Buffer; head: Offset; resolve: () => void }[];
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
  private sub: ShardSubscriber | undefined;
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

  /** Takes charge of the notification connections. */
  attach(sub: ShardSubscriber): void {
    this.sub = sub;
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
    const state = this.states.get(topic);
    if (state === undefined) return;
    this.states.delete(topic);
    state.wake?.();
    release(state, true);
    this.sub?.unsubscribe(this.channel(topic));
  }

  /**
   * Resolves once this node delivered `topic`'s publications up to `head` of `epoch` (at once when it is not
   * subscribed, or in another epoch; after REACH_MS at most). history() waits for it: a notification of a
   * publication that the history already holds could otherwise reach the relay after the history (the
   * notification and the READ reply come on different connections), and be delivered twice.
   */
  reached(topic: string, epoch: Buffer | undefined, head: Offset): Promise<void> {
    const state = this.states.get(topic);
    if (state === undefined || epoch === undefined || state.epoch === undefined || !state.epoch.equals(epoch) || compareOffsets(state.last, head) >= 0) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REACH_MS);
      timer.unref();
      state.waiters.push({ epoch, head, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  close(): void {
    this.closed = true;
    for (const state of this.states.values()) {
      state.wake?.();
      release(state, true);
    }
    this.states.clear();
    this.sub?.close();
  }

  /** The command connection became ready: every held topic tries again now. */
  commandReady(): void {
    for (const state of this.states.values()) state.wake?.();
  }

  /** A notification connection reports `channel` no longer subscribed: hold the topic, subscribe again, catch up. */
  lost(channel: string): void {
    const topic = channelTopic(this.prefix, channel);
    const state = topic === undefined ? undefined : this.states.get(topic);
    if (topic === undefined || state === undefined) return;
    state.live = false;
    state.held ??= [];
    void this.sync(topic, state);
  }

  /**
   * Reads the stream's head, then SSUBSCRIBEs (anything stored after the head is delivered live or read when
   * catching up). When the SSUBSCRIBE fails, resolves all the same: sync() subscribes the topic and catches
   * up from the head.
   */
  private async join(topic: string): Promise<void> {
    if (!this.link.available()) throw new EngineUnavailable('redis unavailable');
    const head = await this.link.read(topic, 'catchup', undefined, 0);
    if (this.states.has(topic) || !this.subscribing.has(topic) || this.closed) return; // unsubscribed meanwhile
    const state: TopicState = { epoch: head.epoch, last: head.last, held: [], overflow: false, live: false, syncing: false, again: false, wake: undefined, waiters: [] };
    this.states.set(topic, state);
    try {
      await this.sub?.subscribe(this.channel(topic));
      state.live = this.sub !== undefined;
    } catch {
      // sync() below tries again
    }
    if (this.states.get(topic) !== state) return;
    if (state.live && state.held !== undefined && !state.overflow && state.held.length === 0) state.held = undefined;
    else void this.sync(topic, state);
  }

  /** Until the topic is live and caught up: subscribe it, read the stream, release the held notifications. */
  private async sync(topic: string, state: TopicState): Promise<void> {
    if (state.syncing) {
      state.again = true;
      return;
    }
    state.syncing = true;
    try {
      for (let attempt = 0; this.states.get(topic) === state && !this.closed; attempt++) {
        state.again = false;
        if (!state.live) {
          try {
            await this.sub?.subscribe(this.channel(topic));
            state.live = this.sub !== undefined;
          } catch {
            // the node is down or the slot is moving: wait, then try again
          }
        }
        if (state.live && (await this.catchUp(topic, state))) {
          if (!state.again) return;
          attempt = -1;
          continue;
        }
        if (state.again) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 10)));
          timer.unref();
          state.wake = () => (clearTimeout(timer), resolve());
        });
        state.wake = undefined;
      }
    } finally {
      state.syncing = false;
    }
  }

  /** Reads the stream after the last delivered offset, delivers it, then the held notifications; false when it failed. */
  private async catchUp(topic: string, state: TopicState): Promise<boolean> {
    if (state.held === undefined) return true;
    try {
      for (;;) {
        state.overflow = false;
        const since = state.epoch === undefined ? undefined : { epoch: state.epoch, offset: state.last };
        const reply = await this.link.read(topic, 'catchup', since, this.maxFrames);
        if (this.states.get(topic) !== state) return true;
        if (reply.epoch !== undefined) for (const e of reply.entries) this.deliver(topic, state, reply.epoch, this.publication(e), true);
        if (state.overflow || (reply.recovered && reply.entries.length === this.maxFrames)) continue;
        break;
      }
    } catch {
      return false; // unavailable again, or a passing error: sync() tries again
    }
    const held = state.held ?? [];
    state.held = undefined;
    for (const r of held) this.deliver(topic, state, r.epoch, r.publication, true);
    return true;
  }

  /** One notification (its head and body): every publication of one APPEND call, in stream order (redis-wire.ts). */
  notification(channel: Buffer, head: Buffer, body: Buffer): void {
    const topic = channelTopic(this.prefix, channel.toString('utf8'));
    const state = topic === undefined ? undefined : this.states.get(topic);
    if (topic === undefined || state === undefined) return;
    const epoch = head.subarray(0, EPOCH_BYTES);
    parseNotification(head, body, this.nodeId, (offset, from, frame) => {
      const publication: Publication = { offset, frame, from };
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
    if (state.waiters.length > 0) release(state, false);
  }

  private publication(e: Entry): Publication {
    return { offset: e.offset, frame: e.frame, from: tagConnection(e.tag, this.nodeId) };
  }

  private channel(topic: string): string {
    return topicKeys(this.prefix, topic).channel;
  }
}

/** Resolves the reached() calls whose head was delivered (or that wait for another epoch); all of them with `all`. */
function release(state: TopicState, all: boolean): void {
  const waiting = state.waiters;
  state.waiters = [];
  for (const w of waiting) {
    if (all || state.epoch === undefined || !state.epoch.equals(w.epoch) || compareOffsets(state.last, w.head) >= 0) w.resolve();
    else state.waiters.push(w);
  }
}
