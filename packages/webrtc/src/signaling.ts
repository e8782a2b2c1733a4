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
  /** A member appeared. */
  'peer-joined': PeerIdentity;
  /** A member left. */
  'peer-left': {
    /** Session: the member. */
    peer?: PeerIdentity;
    /** Room: the member. */
    member?: PeerIdentity;
    /** Why. */
    reason: SignalingLeaveReason;
  };
  /** A description or candidate from a member. */
  signal: {
    /** The sender. */
    from: PeerIdentity;
    /** An offer or answer. */
    description?: SessionDescription;
    /** An ICE candidate (null: end of candidates). */
    candidate?: IceCandidate | null;
  };
  /** The session or room closed. */
  closed: undefined;
  /** Rooms: this member was kicked (the room closes). */
  kicked: {
    /** The moderator's reason. */
    reason: string;
  };
  /** Rooms: the moderator changed the room's ICE servers. */
  'ice-servers': {
    /** The new list. */
    iceServers: readonly RTCIceServer[];
  };
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
  readonly session?: {
    /** The live peers of the room's core session. */
    readonly peers: readonly PeerIdentity[];
  };
  /** Sends an offer or answer, sealed to one member. */
  sendDescription(memberId: string, description: SessionDescription): Promise<void>;
  /** Sends an ICE candidate (null: end of candidates), sealed to one member. */
  sendCandidate(memberId: string, candidate: IceCandidate | null): Promise<void>;
  // Loosely typed, so that Session's and Room's typed `on` fit; `listen` below gives typed access.
  /** Adds an event listener (SignalingEvents); returns a function that removes it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(type: string, listener: (event: any) => void): () => void;
}

/** Typed access to a Signaling's events (a Session ignores listeners for events it never emits). */
export function listen<K extends keyof SignalingEvents>(signaling: Signaling, type: K, listener: (event: SignalingEvents[K]) => void): () => void {
  return signaling.on(type, listener);
}
