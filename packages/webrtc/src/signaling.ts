/**
 * What @sealsig/webrtc needs from the signaling layer: a core `Session` and a rooms `Room` both fit, as does
 * anything with the same shape (an id, sendDescription, sendCandidate and the events below). Declared
 * structurally, so this package depends on neither rooms nor a particular core version's classes.
 */
import type { IceCandidate, SessionDescription } from '@sealsig/core';

/** A member as the signaling layer reports it: core's PeerInfo (id, instance, meta) or a room's Member (id, name, ...). */
export interface PeerIdentity {
  /** Member id (base64url). */
  readonly id: string;
  /** Core sessions: the instance id of this join (a reload is a new instance). */
  readonly instance?: string;
  /** Core sessions: the app data of the member's hello (SessionOptions.meta). */
  readonly meta?: unknown;
  /** Rooms: the member's display name. */
  readonly name?: string;
}

/** Why a member left the signaling layer: core's reasons, and the rooms layer's 'kicked'. */
export type SignalingLeaveReason = 'bye' | 'timeout' | 'rejoined' | 'closed' | 'expelled' | 'kicked';

/** The events connectPeers listens to (a Session emits the first four; a Room all of them). */
export interface SignalingEvents {
  'peer-joined': PeerIdentity;
  /** Session: `peer`; Room: `member`. */
  'peer-left': { peer?: PeerIdentity; member?: PeerIdentity; reason: SignalingLeaveReason };
  signal: { from: PeerIdentity; description?: SessionDescription; candidate?: IceCandidate | null };
  closed: undefined;
  /** Rooms: this member was kicked (the room closes). */
  kicked: { reason: string };
  /** Rooms: the moderator changed the room's ICE servers. */
  'ice-servers': { iceServers: readonly RTCIceServer[] };
}

/** A core Session, a rooms Room, or anything shaped like them. */
export interface Signaling {
  /** This member's id: the side whose id sorts first is impolite (perfect negotiation). */
  readonly id: string;
  /** Rooms: the ICE servers the moderator handed out. */
  readonly iceServers?: readonly RTCIceServer[];
  /** Rooms: the members present (a Session's 'peer-joined' reports them by itself). */
  readonly members?: readonly PeerIdentity[];
  /** Rooms: the core session underneath, whose live peers tell each member's instance (a reload is a new one). */
  readonly session?: { readonly peers: readonly PeerIdentity[] };
  sendDescription(memberId: string, description: SessionDescription): Promise<void>;
  sendCandidate(memberId: string, candidate: IceCandidate | null): Promise<void>;
  // Loosely typed, so that Session's and Room's typed `on` fit; `listen` below gives typed access.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(type: string, listener: (event: any) => void): () => void;
}

/** Typed access to a Signaling's events (a Session ignores listeners for events it never emits). */
export function listen<K extends keyof SignalingEvents>(signaling: Signaling, type: K, listener: (event: SignalingEvents[K]) => void): () => void {
  return signaling.on(type, listener);
}
