/**
 * Admission work and admission queues (docs/PROTOCOL.md §6.5): the price of a new instance, paid before a
 * receiver does any public-key work for it.
 *
 *   work_hash = KDF(route_tag, "sealsig/v3/hello-work", sender || instance || u64be(timestamp) || nonce, 32)
 *   effort    = the number of leading zero bits of work_hash (0 for a hello without a nonce)
 *
 * A sender that wants effort e tries nonces until work_hash has e leading zero bits: 2^e hashes on average.
 * The hash binds the member id, the instance and the hello's timestamp, so one solution admits one instance,
 * and only while the hello is fresh (R, §6.2): work cannot be reused for another identity, nor stockpiled.
 *
 * A receiver that admits through queues (SessionOptions.admission: the rooms moderator's lobby) sorts each
 * hello from an unknown instance into a queue (for the lobby: the invite it names), before verifying
 * anything about it; each queue admits at most `rate` new instances a second (a token bucket of `burst`), and
 * keeps the PENDING_PER_QUEUE hellos of the highest effort waiting for a token. One party flooding one queue
 * with fresh identities delays only that queue, and a joiner in the same queue gets ahead of the flood by
 * putting more work into its hello than the flooder can afford for each of its identities.
 */
import { concatBytes, u64be } from './bytes.js';
import { Labels, kdf } from './kdf.js';
import { TokenBucket } from './token-bucket.js';

/** Bytes of a hello's work nonce. */
export const WORK_NONCE_BYTES = 8;
/** The largest effort a sender will put into one hello (2^24 hashes, seconds of CPU). */
export const MAX_WORK_BITS = 24;
/** Hellos kept waiting per admission queue (§6.5): the highest efforts. */
export const PENDING_PER_QUEUE = 8;

/** §6.5 The work hash of a hello. */
export function workHash(route: Uint8Array, sender: Uint8Array, instance: Uint8Array, timestamp: number, nonce: Uint8Array): Uint8Array {
  return kdf(route, Labels.helloWork, concatBytes(sender, instance, u64be(timestamp), nonce), 32);
}

/** The number of leading zero bits of `bytes`. */
export function leadingZeroBits(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/** §6.5 The effort of a hello: the leading zero bits of its work hash, 0 without a nonce. */
export function helloEffort(route: Uint8Array, sender: Uint8Array, instance: Uint8Array, timestamp: number, nonce: Uint8Array | null): number {
  return nonce === null ? 0 : leadingZeroBits(workHash(route, sender, instance, timestamp, nonce));
}

/** §6.5 A nonce giving at least `bits` of effort (null for 0 bits): 2^bits hashes on average. */
export function solveWork(route: Uint8Array, sender: Uint8Array, instance: Uint8Array, timestamp: number, bits: number): Uint8Array | null {
  if (bits <= 0) return null;
  const nonce = new Uint8Array(WORK_NONCE_BYTES);
  const view = new DataView(nonce.buffer);
  globalThis.crypto.getRandomValues(nonce);
  for (let i = 0; ; i++) {
    view.setUint32(4, i);
    if (helloEffort(route, sender, instance, timestamp, nonce) >= bits) return nonce;
  }
}

/** The admission policy of a receiver (SessionOptions.admission). */
export interface AdmissionPolicy {
  /**
   * The queue a hello from an instance this member does not know goes to, from the hello's meta, its
   * Ed25519 key (as the hello claims it: nothing is verified yet) and whether its member id has a record here
   * already (a reload), or undefined to refuse it (E_ACCESS_DENIED). Called before any public-key work; it
   * should do none either, or a bounded amount it remembers (the rooms moderator checks each invite's
   * signature once, at a bounded rate).
   */
  queue(meta: unknown, signingKey: Uint8Array, knownMember: boolean): string | undefined;
  /** New instances admitted per second, per queue (default 2). */
  rate?: number;
  /** Bucket size per queue (default 4). */
  burst?: number;
}

interface Pending {
  frame: Uint8Array;
  effort: number;
}

interface Queue {
  bucket: TokenBucket;
  pending: Pending[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The most queues kept at once: a queue is forgotten once full of tokens and empty. */
const MAX_QUEUES = 1024;

/** §6.5 Token buckets and pending hellos, per admission queue. */
export class AdmissionQueues {
  /** The receiver's policy: which queue a hello goes to, and each queue's rate. */
  readonly policy: AdmissionPolicy;
  readonly #rate: number;
  readonly #burst: number;
  readonly #queues = new Map<string, Queue>();
  readonly #refeed: (frame: Uint8Array) => void;
  readonly #now: () => number;
  /** Set while a pending hello that was given a token is handled again: its take() goes on at once. */
  #granted = false;

  constructor(policy: AdmissionPolicy, now: () => number, refeed: (frame: Uint8Array) => void) {
    this.policy = policy;
    this.#rate = policy.rate ?? 2;
    this.#burst = policy.burst ?? 4;
    this.#now = now;
    this.#refeed = refeed;
  }

  /**
   * A hello of this effort in queue `key` may go on (true, a token spent), or waits (false: kept if it is
   * among the PENDING_PER_QUEUE highest efforts; returns the number of hellos dropped to make room, 0 or 1,
   * as `dropped`).
   */
  take(key: string, effort: number, frame: () => Uint8Array): { go: boolean; dropped: number } {
    if (this.#granted) {
      // A hello read again from the pending set was given its token already (see #schedule).
      this.#granted = false;
      return { go: true, dropped: 0 };
    }
    const q = this.#queue(key);
    if (q.pending.length === 0 && q.bucket.take(this.#now())) return { go: true, dropped: 0 };
    let dropped = 0;
    if (q.pending.length >= PENDING_PER_QUEUE) {
      const lowest = q.pending.reduce((m, p, i) => (p.effort < q.pending[m]!.effort ? i : m), 0);
      if (q.pending[lowest]!.effort >= effort) return { go: false, dropped: 1 }; // this one is the lowest
      q.pending.splice(lowest, 1);
      dropped = 1;
    }
    q.pending.push({ frame: frame(), effort });
    this.#schedule(key, q);
    return { go: false, dropped };
  }

  /** Hellos waiting in all queues. */
  get waiting(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.pending.length;
    return n;
  }

  clear(): void {
    for (const q of this.#queues.values()) clearTimeout(q.timer);
    this.#queues.clear();
  }

  #queue(key: string): Queue {
    let q = this.#queues.get(key);
    if (q === undefined) {
      if (this.#queues.size >= MAX_QUEUES) this.#forgetIdle();
      q = { bucket: new TokenBucket(this.#burst, this.#rate, 1000, this.#now()), pending: [], timer: undefined };
      this.#queues.set(key, q);
    }
    return q;
  }

  /** When a token is there, the pending hello of the highest effort is handled again (every check again). */
  #schedule(key: string, q: Queue): void {
    if (q.timer !== undefined) return;
    q.timer = setTimeout(() => {
      q.timer = undefined;
      if (q.pending.length === 0) return;
      if (!q.bucket.take(this.#now())) return this.#schedule(key, q);
      const best = q.pending.reduce((m, p, i) => (p.effort > q.pending[m]!.effort ? i : m), 0);
      const [next] = q.pending.splice(best, 1);
      this.#granted = true;
      try {
        this.#refeed(next!.frame);
      } finally {
        this.#granted = false;
      }
      if (q.pending.length > 0) this.#schedule(key, q);
    }, q.bucket.wait(this.#now()));
    (q.timer as { unref?: () => void }).unref?.();
  }

  #forgetIdle(): void {
    for (const [k, q] of this.#queues) if (q.pending.length === 0 && q.bucket.full(this.#now())) this.#queues.delete(k);
    if (this.#queues.size >= MAX_QUEUES) {
      // Every queue is busy: drop the oldest (its pending hellos are lost, and their senders say hello again).
      const [k, q] = this.#queues.entries().next().value!;
      clearTimeout(q.timer);
      this.#queues.delete(k);
    }
  }
}
