/**
 * What the parts of a session share (session.ts wires them): its timings, its own endpoint, the roster
 * (presence.ts), the epochs, the hold buffer, the pairwise channels, its own hellos (announcer.ts), and the
 * way out to the app (events, errors). The receiving side (receiver.ts, roster.ts) reaches the session only
 * through this interface.
 */
import type { AdmissionQueues } from './admission.js';
import type { Announcer } from './announcer.js';
import type { Channels } from './channels.js';
import type { EpochRing } from './epochs.js';
import type { HoldBuffer } from './hold-buffer.js';
import type { SessionLog } from './log.js';
import type { Endpoint } from './pairwise.js';
import type { Peer } from './peer.js';
import type { Presence } from './presence.js';
import type { SessionEvents, SessionStats } from './session-types.js';

/** The resolved timings of a session (SessionOptions with defaults applied). */
export interface Timings {
  maxAgeMs: number;
  maxFutureSkewMs: number;
  heartbeatMs: number;
  peerTimeoutMs: number;
  helloMaxAgeMs: number;
  handshakeRetryMs: number;
  handshakeTimeoutMs: number;
  epochGraceMs: number;
  maxQueuedPerPeer: number;
  now: () => number;
}

export interface SessionContext {
  readonly opt: Timings;
  readonly self: Endpoint;
  readonly route: Uint8Array;
  /** Keys member ids (§3.5). Secret. */
  readonly memberIdKey: Uint8Array;
  readonly maxFrameBytes: number;
  readonly stats: SessionStats;
  readonly presence: Presence;
  readonly epochs: EpochRing;
  readonly held: HoldBuffer;
  readonly channels: Channels;
  readonly announcer: Announcer;
  /** §6.5 The admission queues (and their policy), if this member admits through queues. */
  readonly admission: AdmissionQueues | undefined;
  readonly log: SessionLog;
  /** Whether the session is closed. */
  readonly closed: boolean;
  /** Whether this member's own first hello is published (§6.2: it answers no hello before). */
  readonly announced: boolean;
  /** §3.6 A peer instance's inbox topic. */
  inboxOf(peer: Peer): string;
  /** Counts a dropped frame or failed operation and tells the app (E_REPLAY is only counted). */
  report(e: unknown): void;
  emit<K extends keyof SessionEvents>(type: K, event: SessionEvents[K]): void;
}
