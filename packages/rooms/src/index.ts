/** @sealsig/rooms: rooms and access control for sealsig (docs/PROTOCOL.md §R). */
export { createRoom, joinRoom, Room } from './room.js';
export type { CreateRoomOptions, JoinRoomOptions, Member, ModerationOptions, PrivilegeDeniedState, RoomEvents, RoomOptions } from './room.js';
export type { JoinRequest } from './lobby-desk.js';
export { encodeInvite, parseInvite, keyFingerprint, INVITE_VERSION } from './invite.js';
export type { Invite } from './invite.js';
export type { Privilege, PrivilegeRequestInfo, Privileges } from './privileges.js';
export { sealDescriptor, openDescriptor, fetchDescriptor, isRoomLive, publishDescriptor } from './descriptor.js';
export type { DescriptorOptions, RoomDescriptor } from './descriptor.js';
export { DESCRIPTOR_MAX_BYTES, WRITE_TOKEN_BYTES } from './store/store.js';
export type { DescriptorPutOptions, DescriptorStore } from './store/store.js';
export { memoryDescriptorStore } from './store/memory-store.js';
export type { IceServer, RoomState, ChainLink, RejectCode, PrivilegeAction } from './wire.js';
export { Tag as RoomMessageTag, toWire, fromWire } from './wire.js';
export { RoomLabels, descriptorKeys, lobbyTopicOf } from './labels.js';
export { extendChain, chainEnd } from './chain.js';
export { cpaceChannelId } from './password.js';
export * from './cpace/index.js';
