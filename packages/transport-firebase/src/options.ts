/**
 * Options of createFirebaseTransport() and their defaults (README.md, "Options").
 */
import { SealsigError } from '@sealsig/core';
import type { Database } from 'firebase/database';
import { DATABASE_PATH } from './paths.js';

/** Options of createFirebaseTransport(). */
export interface FirebaseTransportOptions {
  /** The app's Realtime Database (`getDatabase(app)`). The transport never goes offline or deletes it. */
  database: Database;
  /** Path under which everything is stored: `${root}/topics/${topic}/...`. Default 'sealsig'. */
  root?: string;
  /** How long a writer keeps its own frames before removing them, in ms. Default 30 000. */
  ttlMs?: number;
  /**
   * How far back a new subscription reads, in ms before its join time (server clock). Frames older than
   * this are never delivered to it. Default 10 000; keep it at most `ttlMs`.
   */
  historyMs?: number;
  /** Largest frame publish() accepts and a subscription delivers, in bytes. Default 32 768. */
  maxFrameBytes?: number;
  /**
   * Most writes not yet acknowledged by the server. A publish() beyond it waits for an acknowledgement
   * (backpressure), at most publishTimeoutMs, then rejects with E_TRANSPORT. Default 256.
   */
  maxPendingWrites?: number;
  /** How long a publish() waits for room among maxPendingWrites (e.g. while offline), in ms. Default 10 000. */
  publishTimeoutMs?: number;
  /**
   * How long subscribe() waits for the first connection and for the server to answer its listen, in ms,
   * before it resolves anyway (the SDK keeps the listen and restores it when connected). Default 10 000.
   */
  subscribeTimeoutMs?: number;
  /**
   * Reports what the transport dropped or failed at without throwing: malformed or oversized children
   * (E_FRAME_MALFORMED, E_FRAME_TOO_LARGE), writes or listens the server refused (E_TRANSPORT), a frame
   * handler that threw (E_TRANSPORT).
   */
  onError?: (error: SealsigError) => void;
}

export interface ResolvedOptions {
  database: Database;
  root: string;
  ttlMs: number;
  historyMs: number;
  maxFrameBytes: number;
  maxPendingWrites: number;
  publishTimeoutMs: number;
  subscribeTimeoutMs: number;
  onError: (error: SealsigError) => void;
}

/** The default options. */
export const DEFAULTS = {
  /** Root path of the transport's data. */
  root: 'sealsig',
  /** How long a writer keeps its own frames, ms. */
  ttlMs: 30_000,
  /** How far back a new subscription reads, ms. */
  historyMs: 10_000,
  /** Largest frame, bytes. */
  maxFrameBytes: 32 * 1024,
  /** Writes in flight before publish() waits. */
  maxPendingWrites: 256,
  /** How long publish() waits for room, ms. */
  publishTimeoutMs: 10_000,
  /** How long subscribe() waits for the first answer, ms. */
  subscribeTimeoutMs: 10_000,
} as const;

/** The largest maxFrameBytes accepted: RTDB strings hold up to 10 MB, and frames should stay small. */
export const MAX_FRAME_BYTES_LIMIT = 4 * 1024 * 1024;

/** A root: one or more Firebase keys of the base64url alphabet, separated by '/'. */

function positiveInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SealsigError('E_INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

export function resolveOptions(options: FirebaseTransportOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'options must be an object');
  }
  const { database } = options;
  if (typeof database !== 'object' || database === null || (database as { type?: unknown }).type !== 'database') {
    throw new SealsigError('E_INVALID_ARGUMENT', 'options.database must be a firebase Database (getDatabase(app))');
  }
  const root = options.root ?? DEFAULTS.root;
  if (typeof root !== 'string' || !DATABASE_PATH.test(root)) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'options.root must be keys of [A-Za-z0-9_-] separated by "/"');
  }
  const onError = options.onError ?? (() => undefined);
  if (typeof onError !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'options.onError must be a function');
  const day = 24 * 3600 * 1000;
  return {
    database,
    root,
    ttlMs: positiveInteger('ttlMs', options.ttlMs ?? DEFAULTS.ttlMs, 1, day),
    historyMs: positiveInteger('historyMs', options.historyMs ?? DEFAULTS.historyMs, 0, day),
    maxFrameBytes: positiveInteger('maxFrameBytes', options.maxFrameBytes ?? DEFAULTS.maxFrameBytes, 1, MAX_FRAME_BYTES_LIMIT),
    maxPendingWrites: positiveInteger('maxPendingWrites', options.maxPendingWrites ?? DEFAULTS.maxPendingWrites, 1, 1_000_000),
    publishTimeoutMs: positiveInteger('publishTimeoutMs', options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs, 1, day),
    subscribeTimeoutMs: positiveInteger('subscribeTimeoutMs', options.subscribeTimeoutMs ?? DEFAULTS.subscribeTimeoutMs, 1, day),
    onError,
  };
}
