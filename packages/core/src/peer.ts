/**
 * What a session keeps per live peer instance (docs/PROTOCOL.md §6.2, §7.5, §8): its keys and replay
 * window, the state of the pairwise channel with it, and the direct messages waiting for that channel.
 */
import { toHex } from './bytes.js';
import type { SealsigError } from './errors.js';
import type { HandshakeState } from './noise/index.js';
import type { ChannelKeys, Endpoint } from './pairwise.js';
import type { ReplayWindow } from './replay.js';

/** What the app learns of a peer instance. */
export interface PeerInfo {
  /** Member id, base64url: the keyed hash of the peer's signing key. */
  readonly id: string;
  /** Instance id of this join, base64url. */
  readonly instance: string;
  /** The peer's Ed25519 public key (from its hello). */
  readonly signingKey: Uint8Array;
  /** The peer's X25519 public key (from its hello). */
  readonly dhKey: Uint8Array;
  /** The app data of the peer's hello (SessionOptions.meta), or null. */
  readonly meta: unknown;
}

/** A direct message waiting for its channel: its content, encoded when it was sent (§5.1). */
export interface Queued {
  content: Uint8Array;
  resolve: () => void;
  reject: (e: SealsigError) => void;
}

/**
 * §7.5 idle; initiating (the lower id sent an init); requested (the higher id sent an init request);
 * awaiting-confirm (answered an init); established.
 */
export type Phase = 'idle' | 'initiating' | 'requested' | 'awaiting-confirm' | 'established';

export interface Peer {
  info: PeerInfo;
  endpoint: Endpoint;
  /** Its inbox topic (§3.6), derived once. */
  inbox?: string;
  signingKey: Uint8Array;
  dhKey: Uint8Array;
  /** Broadcast replay window (counters are per instance, across epochs). */
  window: ReplayWindow;
  /** When an authenticated frame of this instance last showed it alive (§6.2: only frames stamped within R count). */
  lastSeen: number;
  /** Timestamp (the peer's clock) of the newest hello accepted from this instance. */
  helloTs: number;
  phase: Phase;
  handshake?: HandshakeState;
  handshakeStarted: number;
  /** Timestamp (the peer's clock) of the newest handshake frame from this peer that set up a channel. */
  handshakeTs: number;
  attempt: number;
  timer?: ReturnType<typeof setTimeout>;
  keys?: ChannelKeys;
  /** Keys of a replaced channel, kept for frames in flight until `expires`. */
  previous?: { keys: ChannelKeys; expires: number };
  queue: Queued[];
  /** §7.2 The pair key with this instance, computed on first use (one X25519). Secret. */
  pairKey?: Uint8Array;
}

export const endpointKey = (id: Uint8Array, instance: Uint8Array) => toHex(id) + toHex(instance);

/** Erases a peer's channel keys (current and replaced) and its pair key. */
export function eraseChannel(peer: Peer): void {
  peer.keys?.destroy();
  peer.previous?.keys.destroy();
  peer.keys = peer.previous = undefined;
  peer.pairKey?.fill(0);
  peer.pairKey = undefined;
}
