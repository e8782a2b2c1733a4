/**
 * createFirebaseTransport(): a sealsig Transport (docs/ADAPTERS.md §1) over Firebase Realtime Database,
 * through the modular `firebase` SDK. See README.md for the data layout and database.rules.json.
 *
 * - publish() pushes `{ d, t, w }` under `${root}/topics/${topic}/frames` (frame-child.ts) and resolves
 *   once the SDK took the write (it queues writes while offline; at most maxPendingWrites unacknowledged).
 *   The writer removes each of its frames ttlMs later, and the rest on close().
 * - subscribe() listens with onChildAdded to the children whose server timestamp `t` is at least
 *   joinTime - historyMs, where joinTime is the server's clock (local clock + `.info/serverTimeOffset`):
 *   a new reader sees only a short window of history, never everything still stored.
 * - Self-echo is OFF: the SDK fires events for the client's own writes, and the transport drops children
 *   whose writer id `w` is its own. Another transport on the same database (its own writer id) receives them.
 * - state follows `.info/connected`: 'connecting' until the first connection, 'open', 'reconnecting'
 *   after a drop (the SDK reconnects and restores listens by itself), 'closed' after close().
 */
import { SealsigError, TransportStateCell, toBase64Url } from '@sealsig/core';
import type { FrameHandler, Transport, TransportState, Unsubscribe } from '@sealsig/core';
import { onChildAdded, onValue, orderByChild, push, query, ref, remove, startAt } from 'firebase/database';
import type { DatabaseReference, Query } from 'firebase/database';
import { decodeFrameChild, encodeFrameChild } from './frame-child.js';
import { resolveOptions } from './options.js';
import type { FirebaseTransportOptions } from './options.js';
import { assertTopic, framesPath } from './paths.js';
import { Presence } from './presence.js';

export interface FirebaseTransport extends Transport {
  /** This transport's random writer id: the `w` of its frames and its presence key. Not linked to members. */
  readonly writerId: string;
  /** Children dropped because they were malformed or oversized (each also reported to onError). */
  readonly dropped: number;
  /**
   * Diagnostics: SDK listeners, TTL timers, and subscribe()/publish() waits this transport holds right now.
   * 0 after close().
   */
  readonly openResources: number;
}

/** A pending wait of subscribe() or publish(), settled by an event, its timeout, or close(). */
interface Waiter {
  settle(error?: SealsigError): void;
}

interface OwnFrame {
  ref: DatabaseReference;
  timer: ReturnType<typeof setTimeout>;
}

function randomWriterId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return toBase64Url(bytes); // 22 characters, a valid Firebase key
}

/** A sealsig Transport over the app's Realtime Database (README.md). */
export function createFirebaseTransport(options: FirebaseTransportOptions): FirebaseTransport {
  const o = resolveOptions(options);
  const db = o.database;
  const writerId = randomWriterId();
  const report = (error: SealsigError): void => {
    if (state.value === 'closed') return; // late acknowledgements of a closed transport are nobody's business
    try {
      o.onError(error);
    } catch {
      // A throwing error listener must not break delivery.
    }
  };

  const state = new TransportStateCell('connecting');
  let everConnected = false;
  let serverOffset = 0;
  let pendingWrites = 0;
  let dropped = 0;
  const detachers = new Set<() => void>(); // every SDK listener this transport attached
  const ownFrames = new Map<string, OwnFrame>(); // push key -> reference and TTL timer
  const waiters = new Set<Waiter>(); // subscribe() calls waiting for the connection or the server's answer
  const connectWaiters = new Set<Waiter>(); // the subset waiting for the first connection
  const presence = new Presence(db, o.root, writerId, report);

  const setState = (next: TransportState): void => {
    if (state.value !== 'closed') state.set(next); // closed is final
  };

  const offConnected = onValue(ref(db, '.info/connected'), (snap) => {
    if (state.value === 'closed') return;
    if (snap.val() === true) {
      if (everConnected) presence.reconnected();
      everConnected = true;
      setState('open');
      for (const w of [...connectWaiters]) w.settle(); // the server clock offset is known now
    } else {
      setState(everConnected ? 'reconnecting' : 'connecting');
      // A listen queued now is restored by the SDK on reconnection; its history window covers the gap.
      if (everConnected) for (const w of [...waiters]) w.settle();
    }
  });
  detachers.add(offConnected);
  const offOffset = onValue(ref(db, '.info/serverTimeOffset'), (snap) => {
    const v: unknown = snap.val();
    serverOffset = typeof v === 'number' && Number.isFinite(v) ? v : 0;
  });
  detachers.add(offOffset);

  const assertOpen = (): void => {
    if (state.value === 'closed') throw new SealsigError('E_CLOSED', 'transport is closed');
  };

  /**
   * A wait of subscribe() for at most subscribeTimeoutMs: on timeout it resolves anyway, since the SDK
   * keeps the listen and restores it once connected, and the history window covers the gap.
   */
  const wait = (register: (waiter: Waiter) => (() => void) | undefined, extra?: Set<Waiter>): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let done = false;
      let detach: (() => void) | undefined;
      const waiter: Waiter = {
        settle(error) {
          if (done) return;
          done = true;
          clearTimeout(timer);
          waiters.delete(waiter);
          extra?.delete(waiter);
          detach?.();
          if (error) reject(error);
          else resolve();
        },
      };
      const timer = setTimeout(() => waiter.settle(), o.subscribeTimeoutMs);
      waiters.add(waiter);
      extra?.add(waiter);
      detach = register(waiter);
      if (done) detach?.(); // settled synchronously, from the SDK's cache
    });

  /**
   * Before the first connection the server clock is unknown (`.info/serverTimeOffset` is 0): wait for it,
   * so that a client whose clock runs ahead does not start its history window in the future.
   */
  const whenConnectedOnce = (): Promise<void> => (everConnected ? Promise.resolve() : wait(() => undefined, connectWaiters));

  /**
   * Resolves once the server answered the listen (its first value event), so frames published after
   * subscribe() resolves are delivered (docs/ADAPTERS.md §1). While reconnecting it resolves at once.
   */
  const whenLive = (q: Query): Promise<void> => {
    if (state.value === 'reconnecting') return Promise.resolve();
    return wait((waiter) =>
      onValue(
        q,
        () => waiter.settle(),
        (e) => waiter.settle(new SealsigError('E_TRANSPORT', 'the database refused the subscription', { cause: e })),
      ),
    );
  };

  /** publish() calls waiting for room among maxPendingWrites, oldest first. */
  const slotWaiters: Waiter[] = [];
  const waitForSlot = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        settle(error) {
          clearTimeout(timer);
          const i = slotWaiters.indexOf(waiter);
          if (i >= 0) slotWaiters.splice(i, 1);
          if (error) reject(error);
          else resolve();
        },
      };
      const timer = setTimeout(
        () => waiter.settle(new SealsigError('E_TRANSPORT', `${pendingWrites} writes still wait for the database after ${o.publishTimeoutMs} ms`)),
        o.publishTimeoutMs,
      );
      slotWaiters.push(waiter);
    });
  /** A write was acknowledged (or refused): its slot goes to the oldest waiting publish(), if any. */
  const writeSettled = (): void => {
    const next = slotWaiters[0];
    if (next) next.settle();
    else pendingWrites--;
  };

  const forgetOwnFrame = (key: string): void => {
    const own = ownFrames.get(key);
    if (!own) return;
    clearTimeout(own.timer);
    ownFrames.delete(key);
  };

  return {
    maxFrameBytes: o.maxFrameBytes,
    writerId,
    get state() {
      return state.value;
    },
    get dropped() {
      return dropped;
    },
    get openResources() {
      return detachers.size + ownFrames.size + waiters.size + slotWaiters.length;
    },

    async subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
      assertOpen();
      assertTopic(topic);
      if (typeof onFrame !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'onFrame must be a function');
      await whenConnectedOnce();
      assertOpen();
      const joinTime = Date.now() + serverOffset;
      const q = query(ref(db, framesPath(o.root, topic)), orderByChild('t'), startAt(joinTime - o.historyMs));
      let active = true;
      const offChild = onChildAdded(
        q,
        (snap) => {
          if (!active) return;
          const child = decodeFrameChild(snap.key, snap.val(), o.maxFrameBytes);
          if (!child.ok) {
            dropped++;
            report(child.error);
            return;
          }
          if (child.writer === writerId) return; // self-echo off
          try {
            onFrame(child.frame);
          } catch (e) {
            report(new SealsigError('E_TRANSPORT', 'a frame handler threw', { cause: e }));
          }
        },
        (e) => report(new SealsigError('E_TRANSPORT', `the database cancelled the subscription to ${topic}`, { cause: e })),
      );
      detachers.add(offChild);
      presence.acquire(topic);
      const unsubscribe: Unsubscribe = async () => {
        if (!active) return;
        active = false;
        if (!detachers.has(offChild)) return; // close() already detached it
        offChild();
        detachers.delete(offChild);
        if (state.value !== 'closed') presence.release(topic);
      };
      try {
        await whenLive(q);
      } catch (e) {
        await unsubscribe();
        throw e;
      }
      return unsubscribe;
    },

    async publish(topic: string, frame: Uint8Array): Promise<void> {
      assertOpen();
      assertTopic(topic);
      if (!(frame instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'frame must be a Uint8Array');
      if (frame.length > o.maxFrameBytes) {
        throw new SealsigError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes over ${o.maxFrameBytes}`);
      }
      if (pendingWrites >= o.maxPendingWrites || slotWaiters.length > 0) {
        await waitForSlot(); // FIFO, so frames keep their order; the slot is handed over to us
        assertOpen();
      } else {
        pendingWrites++;
      }
      let child: ReturnType<typeof push>;
      try {
        child = push(ref(db, framesPath(o.root, topic)), encodeFrameChild(frame, writerId));
      } catch (e) {
        writeSettled();
        throw new SealsigError('E_TRANSPORT', 'push failed', { cause: e });
      }
      const key = child.key as string; // push() always names the child
      child.then(
        () => writeSettled(),
        (e: unknown) => {
          writeSettled();
          forgetOwnFrame(key);
          report(new SealsigError('E_TRANSPORT', `the database refused a frame on ${topic}`, { cause: e }));
        },
      );
      const timer = setTimeout(() => {
        ownFrames.delete(key);
        remove(child).catch((e: unknown) =>
          report(new SealsigError('E_TRANSPORT', `removing an expired frame on ${topic} failed`, { cause: e })),
        );
      }, o.ttlMs);
      (timer as { unref?: () => void }).unref?.();
      ownFrames.set(key, { ref: child, timer });
    },

    onStateChange(listener: (state: TransportState) => void): () => void {
      if (typeof listener !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'listener must be a function');
      return state.listen(listener);
    },

    async close(): Promise<void> {
      if (state.value === 'closed') return;
      state.set('closed');
      state.clear();
      for (const w of [...waiters, ...slotWaiters]) w.settle(new SealsigError('E_CLOSED', 'transport closed'));
      for (const detach of detachers) detach();
      detachers.clear();
      presence.clear();
      // Our frames still within their TTL: remove them now rather than leave them to nobody.
      for (const [key, own] of [...ownFrames]) {
        forgetOwnFrame(key);
        remove(own.ref).catch(() => undefined);
      }
    },
  };
}
