/**
 * A session's options checked and completed with their defaults (docs/PROTOCOL.md §6.2, §7.5, §8, §9): the
 * timings, the admission work a member puts into its hellos (§6.5) and the shape of an app's identity; and
 * its counters, zero at the start.
 */
import { MAX_WORK_BITS } from './admission.js';
import { isBytes } from './bytes.js';
import type { Timings } from './context.js';
import { fail } from './errors.js';
import type { Identity, SessionOptions, SessionStats } from './session-types.js';

/** §6.2 The default R: three heartbeats, and at least this long. */
const MIN_DEFAULT_HELLO_MAX_AGE_MS = 30_000;

/** The timings of a session, defaults applied: heartbeat 10 s, peer timeout 3.5 heartbeats, R three heartbeats (at least 30 s), max age 120 s. */
export function resolveTimings(options: SessionOptions): Timings {
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const maxAgeMs = options.maxAgeMs ?? 120_000;
  const helloMaxAgeMs = options.helloMaxAgeMs ?? Math.min(maxAgeMs, Math.max(MIN_DEFAULT_HELLO_MAX_AGE_MS, 3 * heartbeatMs));
  if (!(Number.isFinite(helloMaxAgeMs) && helloMaxAgeMs > 0 && helloMaxAgeMs <= maxAgeMs)) {
    throw fail('E_INVALID_ARGUMENT', 'helloMaxAgeMs must be positive and at most maxAgeMs');
  }
  return {
    maxAgeMs,
    maxFutureSkewMs: options.maxFutureSkewMs ?? 30_000,
    heartbeatMs,
    peerTimeoutMs: options.peerTimeoutMs ?? heartbeatMs * 3.5,
    helloMaxAgeMs,
    handshakeRetryMs: options.handshakeRetryMs ?? 1_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 15_000,
    epochGraceMs: options.epochGraceMs ?? 10_000,
    maxQueuedPerPeer: options.maxQueuedPerPeer ?? 256,
    now: options.now ?? Date.now,
  };
}

export function checkWork(bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_WORK_BITS) throw fail('E_INVALID_ARGUMENT', `hello work is an integer from 0 to ${MAX_WORK_BITS} bits`);
  return bits;
}

export function checkIdentity(identity: Identity): void {
  const { signing, dh } = identity;
  if (!isBytes(signing?.publicKey, 32) || !isBytes(signing?.privateKey, 64) || !isBytes(dh?.publicKey, 32) || !isBytes(dh?.privateKey, 32)) {
    throw fail('E_INVALID_ARGUMENT', 'identity needs an Ed25519 key pair (32/64 bytes) and an X25519 key pair (32/32 bytes)');
  }
}

/** A session's counters, all zero. */
export function emptyStats(): SessionStats {
  return {
    framesIn: 0,
    framesOut: 0,
    accepted: 0,
    duplicates: 0,
    selfEcho: 0,
    notForMe: 0,
    dropped: {},
    heldDropped: 0,
    initsDeferred: 0,
    staleRequests: 0,
    hellosDeferred: 0,
    hellosQueued: 0,
    repliesSkipped: 0,
    gaps: 0,
  };
}
