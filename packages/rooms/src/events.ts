/**
 * What the app sees of a room (docs/PROTOCOL.md §R5.4, §R6, §R8): its members (the keys the moderator's state
 * lists that are present), and the events a Room emits.
 */
import type { IceCandidate, LeaveReason, SealsigError, SessionDescription } from '@sealsig/core';
import type { JoinRequest } from './lobby-desk.js';
import type { IceServer, PrivilegeAction } from './wire.js';

/** A member of the room as the app sees it. */
export interface Member {
  /** Member id in the room session (base64url). */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** Ed25519 public key: the identity the moderator admitted. */
  readonly key: Uint8Array;
  /** Whether the member is the room's moderator. */
  readonly isModerator: boolean;
}

/** Why a privilege request of ours was refused: 'state' event names. */
export type PrivilegeDeniedState = 'stop-request-denied' | 'mute-request-denied';

/** The events of a Room and their payloads. */
export interface RoomEvents {
  /** An admitted member is present. */
  'peer-joined': Member;
  /** A member left, or was kicked. */
  'peer-left': {
    /** The member. */
    member: Member;
    /** Why: core's LeaveReason, or 'kicked'. */
    reason: LeaveReason | 'kicked';
  };
  /** A message from a member. */
  message: {
    /** The sender. */
    from: Member;
    /** The message. */
    value: unknown;
    /** Whether it was a broadcast. */
    broadcast: boolean;
  };
  /** WebRTC signaling from a member. */
  signal: {
    /** The sender. */
    from: Member;
    /** An offer or answer. */
    description?: SessionDescription;
    /** An ICE candidate, or null for the end of candidates. */
    candidate?: IceCandidate | null;
  };
  /** Moderator only: someone asks to join. Call accept() or reject(). */
  'join-request': JoinRequest;
  /** A new epoch key is in use (§9). */
  epoch: {
    /** The epoch number. */
    epoch: number;
  };
  /** The moderator changed (an explicit transfer, §R6). */
  moderator: {
    /** The new moderator's Ed25519 public key. */
    key: Uint8Array;
    /** Whether it is this member. */
    self: boolean;
  };
  /** The room's ICE servers changed. */
  'ice-servers': {
    /** The new list. */
    iceServers: IceServer[];
  };
  /** This member was removed by the moderator; the room is closed. */
  kicked: {
    /** The moderator's reason. */
    reason: string;
  };
  /** The guide's onstatechange: a stop or mute request of ours was denied by the stream's owner. */
  state: {
    /** Which request was denied. */
    name: PrivilegeDeniedState;
    /** The stream's owner. */
    owner: Member;
    /** The stream. */
    streamId: string;
  };
  /** A stop or mute request for one of our streams that our policy granted: the app stops or mutes it. */
  privilege: {
    /** 'stop' or 'mute'. */
    action: PrivilegeAction;
    /** The requester. */
    from: Member;
    /** The stream. */
    streamId: string;
  };
  /** A dropped message or failed operation. */
  error: SealsigError;
  /** The room closed. */
  closed: undefined;
}
/** Emits one of a Room's events: what the objects a Room wires are handed instead of the Room itself. */
export type EmitRoomEvent = <K extends keyof RoomEvents>(type: K, event: RoomEvents[K]) => void;
