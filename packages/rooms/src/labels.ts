/**
 * The rooms layer's labels and the keys it derives from an invite's session id (docs/PROTOCOL.md §R2).
 * Every label is distinct from core's (§3.3) and from each other, so no derived value equals another.
 *
 *   descriptor_id    = KDF(sid, "sealsig/v2/rooms/descriptor-id",    "", 16)   public: the store's key
 *   descriptor_key   = KDF(sid, "sealsig/v2/rooms/descriptor-key",   "", 32)   seals the descriptor
 *
 * An invite's grant is signed by the moderator ("sealsig/v3/rooms/invite", invite-grant.ts).
 *
 * Writing a descriptor needs no derived secret: the store checks a proof signed by the moderator's own
 * Ed25519 key (§R7, "sealsig/v2/rooms/descriptor-put"), which no other invite holder has.
 */
import { concatBytes, deriveSession, kdf, memzero, parseSessionId, utf8 } from '@sealsig/core';

/** The KDF and signature labels of the rooms layer (§R). */
export const RoomLabels = {
  /** Descriptor store id (§R7). */
  descriptorId: 'sealsig/v2/rooms/descriptor-id',
  /** Descriptor sealing key (§R7). */
  descriptorKey: 'sealsig/v2/rooms/descriptor-key',
  /** Descriptor signature (§R7). */
  descriptorSignature: 'sealsig/v2/rooms/descriptor-signature',
  /** Descriptor write proof (§R7). */
  descriptorPut: 'sealsig/v2/rooms/descriptor-put',
  /** Moderator transfer certificate (§R6). */
  transferSignature: 'sealsig/v2/rooms/moderator-transfer',
  /** Invite signature (§R2): the one label new in protocol v3; the others keep their v2 names. */
  inviteSignature: 'sealsig/v3/rooms/invite',
  /** Privilege request signature. */
  privilegeSignature: 'sealsig/v2/rooms/privilege-request',
  /** CPace channel identifier (§R4). */
  cpaceChannel: 'sealsig/v2/rooms/cpace',
  /** Key confirmation, moderator side (§R4). */
  confirmModerator: 'sealsig/v2/rooms/confirm-moderator',
  /** Key confirmation, joiner side (§R4). */
  confirmJoiner: 'sealsig/v2/rooms/confirm-joiner',
} as const;

const EMPTY = new Uint8Array(0);

export interface DescriptorKeys {
  id: Uint8Array;
  key: Uint8Array;
}

/** §R2 The descriptor's id and sealing key, from the invite's session id. The caller memzeroes `key` after use. */
export function descriptorKeys(sessionId: string): DescriptorKeys {
  const sid = parseSessionId(sessionId);
  const keys = {
    id: kdf(sid, RoomLabels.descriptorId, EMPTY, 16),
    key: kdf(sid, RoomLabels.descriptorKey, EMPTY, 32),
  };
  memzero(sid);
  return keys;
}

/** A signature context: the label, a zero byte, then the signed fields (§R1). */
export function signatureInput(label: string, ...fields: Uint8Array[]): Uint8Array {
  return concatBytes(utf8(label), new Uint8Array(1), ...fields);
}

/** The lobby's topic: the route tag (base64url) of the invite's session id, core §3.3. */
export function lobbyTopicOf(invite: { sessionId: string }): string {
  const s = deriveSession(invite.sessionId);
  memzero(s.memberIdKey, s.roomKey0);
  return s.topic;
}

/** §R2 The room's descriptor id alone (public: it names the room in the store and in chain links, §R6). */
export function descriptorIdOf(sessionId: string): Uint8Array {
  const sid = parseSessionId(sessionId);
  const id = kdf(sid, RoomLabels.descriptorId, EMPTY, 16);
  memzero(sid);
  return id;
}
