/**
 * @sealsig/rooms: rooms and access control for sealsig (docs/PROTOCOL.md §R).
 *
 * @module @sealsig/rooms
 */
export { createRoom, joinRoom } from './open.js';
export { Room } from './room.js';
export type { Member, PrivilegeDeniedState, RoomEvents } from './events.js';
export type { CreateRoomOptions, JoinRoomOptions, ModerationOptions, RoomOptions } from './options.js';
export type { JoinRequest } from './lobby-desk.js';
export { encodeInvite, parseInvite, keyFingerprint, INVITE_VERSION, MAX_INVITE_CHARS } from './invite.js';
export { inviteSignatureValid } from './invite-grant.js';
export type { Invite } from './invite.js';
export type { Privilege, PrivilegeRequestInfo, Privileges } from './privileges.js';
export { sealDescriptor, openDescriptor, verifyDescriptor, fetchDescriptor, isRoomLive, publishDescriptor, DescriptorReader, DESCRIPTOR_VERSION } from './descriptor.js';
export type { DescriptorInvite, DescriptorOptions, RoomDescriptor, SealDescriptorInput } from './descriptor.js';
export { DESCRIPTOR_MAX_BYTES, MAX_PROOF_BYTES } from './store/store.js';
export { authorizePut, decodeWriteProof, encodeWriteProof, signWriteProof, putInput } from './store/proof.js';
export type { WriteBinding, WriteProof } from './store/proof.js';
export type { DescriptorPutOptions, DescriptorStore } from './store/store.js';
export { memoryDescriptorStore } from './store/memory-store.js';
export type { MemoryDescriptorStoreOptions } from './store/memory-store.js';
export { relayDescriptorStore } from './store/relay-store.js';
export { relayTurnCredentials } from './turn.js';
export type { TurnCredentialOptions } from './turn.js';
export type { RelayDescriptorStoreOptions } from './store/relay-store.js';
export type { IceServer, RoomState, ChainLink, RejectCode, PrivilegeAction, RevokedInvite } from './wire.js';
export { Tag as RoomMessageTag, toWire, fromWire } from './wire.js';
export { RoomLabels, descriptorKeys, lobbyTopicOf } from './labels.js';
export { extendChain, chainEnd } from './chain.js';
export { cpaceChannelId } from './password.js';
export * from './cpace/index.js';
