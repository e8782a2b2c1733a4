/**
 * Privileges (docs/PROTOCOL.md §R8), the guide's canStopRemoteStream / canMuteRemoteStream: a member asks the
 * owner of a stream it receives to stop or mute it; the owner's policy decides. The request is signed by the
 * requester (Ed25519) over
 *
 *   "sealsig/v2/rooms/privilege-request" || 0x00 || msgpack([room_topic, owner_key, action, stream_id, nonce, timestamp])
 *
 * and travels in the pairwise channel; the owner checks the signature against the sender's key, the
 * timestamp (within the freshness bounds of core §8.1) and that the nonce is new. Nothing is enforced by
 * trusting the requester.
 */
import { ed25519Sign, ed25519Verify, encodeCanonical } from '@sealsig/core';
import { RoomLabels, signatureInput } from './labels.js';
import type { PrivilegeAction } from './wire.js';

/** A stop or mute request, as the stream owner's policy sees it. */
export interface PrivilegeRequestInfo {
  /** 'stop' or 'mute'. */
  action: PrivilegeAction;
  /** The app's id of the stream concerned. */
  streamId: string;
  /** The requester (member id in the room). */
  from: string;
  /** Whether the requester is the room's moderator. */
  fromModerator: boolean;
}

/** A privilege: a fixed answer, or the owner's policy function (may be async). Default: false (deny). */
export type Privilege = boolean | ((request: PrivilegeRequestInfo) => boolean | Promise<boolean>);

/** Who may stop or mute this member's streams (RoomOptions.privileges). */
export interface Privileges {
  /** Whether another member may stop one of our streams. */
  canStopRemoteStream?: Privilege;
  /** Whether another member may mute one of our streams. */
  canMuteRemoteStream?: Privilege;
}

export interface PrivilegeFields {
  roomTopic: string;
  ownerKey: Uint8Array;
  action: PrivilegeAction;
  streamId: string;
  nonce: Uint8Array;
  timestamp: number;
}

function input(f: PrivilegeFields): Uint8Array {
  return signatureInput(RoomLabels.privilegeSignature, encodeCanonical([f.roomTopic, f.ownerKey, f.action, f.streamId, f.nonce, f.timestamp]));
}

export function signPrivilegeRequest(signingSecret: Uint8Array, f: PrivilegeFields): Uint8Array {
  return ed25519Sign(signingSecret, input(f));
}

export function verifyPrivilegeRequest(requesterKey: Uint8Array, f: PrivilegeFields, signature: Uint8Array): boolean {
  return ed25519Verify(requesterKey, input(f), signature);
}

export async function decidePrivilege(policy: Privilege | undefined, request: PrivilegeRequestInfo): Promise<boolean> {
  if (typeof policy === 'function') return (await policy(request)) === true;
  return policy === true;
}
