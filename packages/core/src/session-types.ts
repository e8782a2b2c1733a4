/**
 * The types of a session's public API: its options, counters and events (docs/PROTOCOL.md §6 to §9).
 */
import type { AdmissionPolicy } from './admission.js';
import type { ErrorCode, SealsigError } from './errors.js';
import type { SessionLogger } from './log.js';
import type { PeerInfo } from './peer.js';
import type { IceCandidate, SessionDescription } from './signal.js';
import type { KeyPair } from './sodium.js';
import type { Transport } from './transport.js';

/** Long-term keys an app may supply instead of the per-session keys sealsig generates. */
export interface Identity {
  /** Ed25519: 32-byte public key, 64-byte libsodium secret key. */
  signing: KeyPair;
  /** X25519: 32-byte keys. */
  dh: KeyPair;
}

/** Options of joinSession(). */
export interface SessionOptions {
  /** The session id: at least 16 random bytes, base64url (createSessionId); every key of the session derives from it (§3.2). */
  sessionId: string;
  /** Moves frames (docs/ADAPTERS.md); trusted with nothing. */
  transport: Transport;
  /** Long-term keys (copied; the copy is erased on close). Default: fresh keys for this session. */
  identity?: Identity;
  /** Largest frame sent or accepted (default 64 KiB, never above the transport's maximum). */
  maxFrameBytes?: number;
  /** Frames older than this are stale (default 120 s). */
  maxAgeMs?: number;
  /** Frames stamped further than this in the future are stale (default 30 s). */
  maxFutureSkewMs?: number;
  /** Presence heartbeat interval (default 10 s). */
  heartbeatMs?: number;
  /** A peer silent for longer than this has left (default 3.5 heartbeats). */
  peerTimeoutMs?: number;
  /**
   * §6.2 R: a hello older than this does not make a peer live, and a frame older than this does not keep one
   * live (default 3 heartbeats and at least 30 s; at most maxAgeMs). A departed member whose bye was lost
   * appears live to nobody for longer than R plus peerTimeoutMs after its last frame.
   */
  helloMaxAgeMs?: number;
  /** First handshake retransmission delay, doubled each time (default 1 s). */
  handshakeRetryMs?: number;
  /** Give up a handshake (and reject the messages queued for it) after this long (default 15 s). */
  handshakeTimeoutMs?: number;
  /** A superseded epoch stays usable for receiving this long after the next one is installed (default 10 s). */
  epochGraceMs?: number;
  /** Direct messages queued per peer while its channel is being set up (default 256). */
  maxQueuedPerPeer?: number;
  /** Clock in milliseconds since the Unix epoch (default Date.now). */
  now?: () => number;
  /**
   * Join at a later epoch (§9) with its room key (copied), instead of epoch 0: for members handed the current
   * key by the rooms layer, so that their first hello is already readable by the others.
   */
  epoch?: {
    /** The epoch number. */
    epoch: number;
    /** Its 32-byte room key. */
    roomKey: Uint8Array;
  };
  /** joinSession rejects with E_TIMEOUT if the transport has not subscribed and published the hello by then (default 30 s). */
  joinTimeoutMs?: number;
  /** Aborting it makes a pending joinSession reject with E_ABORTED (and leave nothing behind). */
  signal?: AbortSignal;
  /**
   * App data announced in this member's hello and delivered with 'peer-joined' (PeerInfo.meta): a display
   * name, a role. Any msgpack value of at most 1 KiB encoded. Members see it; the transport does not.
   */
  meta?: unknown;
  /**
   * §6.5 Admission work: the effort (leading zero bits of the work hash, 0 to 24; about 2^bits hashes) put
   * into the hellos that ask for replies (the join, re-announcements). Default 0. Session.announce() raises it.
   */
  helloWork?: number;
  /**
   * §6.5 Admit new instances through queues: each hello from an instance this member does not know is sorted
   * into a queue before any public-key work is done for it, and each queue admits `rate` a second, the
   * highest admission work first. Off by default (every valid hello is admitted). The rooms moderator's lobby
   * uses one queue per invite.
   */
  admission?: AdmissionPolicy;
  /** Bytes held for senders whose hello has not arrived yet (§8.3; default 1 MiB, shared fairly among 64 senders). */
  maxHeldBytes?: number;
  /**
   * Opt-in debug log: called with what the session does (joined, peers joined and left, handshakes, gaps,
   * epochs, closed) and, at most once a second, a count of the frames dropped by error code. Events carry
   * member ids, counts, reasons and error codes only: never a key, the session id, a topic or content
   * (SessionLogEvent). Off by default.
   */
  logger?: SessionLogger;
}


/** Why a peer left: a bye, silence past peerTimeoutMs, a newer instance of the member, this session closing, or expel(). */
export type LeaveReason = 'bye' | 'timeout' | 'rejoined' | 'closed' | 'expelled';

/** Frame counters of a session (Session.stats). */
export interface SessionStats {
  /** Frames received from the transport. */
  framesIn: number;
  /** Frames published. */
  framesOut: number;
  /** Frames authenticated and used. */
  accepted: number;
  /** Duplicates and replays dropped silently. */
  duplicates: number;
  /** Own frames echoed back by the transport. */
  selfEcho: number;
  /** Frames addressed to another member. */
  notForMe: number;
  /** Frames dropped, by error code. */
  dropped: Partial<Record<ErrorCode, number>>;
  /** Frames of not-yet-known senders refused or evicted by the hold buffer's bounds (§8.3); also in dropped. */
  heldDropped: number;
  /** Handshake inits read later because their sender was over its budget (§7.7). */
  initsDeferred: number;
  /** Init requests ignored as older than the channel they ask for (stamped before the resp that set it up, §7.6). */
  staleRequests: number;
  /** Hellos of a new instance admitted later because their member was over its admission rate (§6.4). */
  hellosDeferred: number;
  /** Hellos of unknown instances waiting in an admission queue, or dropped from a full one (§6.5). */
  hellosQueued: number;
  /** Hellos asking for a reply that were not answered, their member having been answered less than a second before (§6.4). */
  repliesSkipped: number;
  /** Gap signals from the transport acted on (§8.6). */
  gaps: number;
}

/** The events of a Session and their payloads. */
export interface SessionEvents {
  /** A peer instance is live (its hello verified). */
  'peer-joined': PeerInfo;
  /** A peer instance left. */
  'peer-left': {
    /** The peer that left. */
    peer: PeerInfo;
    /** Why it left. */
    reason: LeaveReason;
  };
  /** A message from a peer. */
  message: {
    /** The sender. */
    from: PeerInfo;
    /** The message (any msgpack value). */
    value: unknown;
    /** Whether it was a broadcast (true) or a direct message. */
    broadcast: boolean;
  };
  /** WebRTC signaling from a peer (sendDescription, sendCandidate). */
  signal: {
    /** The sender. */
    from: PeerInfo;
    /** An offer or answer, if that is what was sent. */
    description?: SessionDescription;
    /** An ICE candidate, or null for the end of candidates. */
    candidate?: IceCandidate | null;
  };
  /** A dropped frame or failed operation. Duplicates are not reported here (see stats.duplicates). */
  error: SealsigError;
  /** A later epoch was installed (installEpoch). */
  epoch: {
    /** The new epoch number. */
    epoch: number;
  };
  /** The session closed. */
  closed: undefined;
}
