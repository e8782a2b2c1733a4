/**
 * @sealsig/core: end-to-end encrypted WebRTC signaling over any untrusted transport.
 * The specification is docs/PROTOCOL.md; section numbers in comments refer to it.
 *
 * @module @sealsig/core
 */
export { joinSession } from './join-session.js';
export { Session, MAX_META_BYTES } from './session.js';
export type {
  Identity,
  IceCandidate,
  LeaveReason,
  PeerInfo,
  SessionDescription,
  SessionEvents,
  SessionOptions,
  SessionStats,
} from './session.js';
export { SealsigError, ErrorCodes, isSealsigError } from './errors.js';
export { DROP_LOG_INTERVAL_MS } from './log.js';
export type { SessionLogEvent, SessionLogger, SessionLogLevel } from './log.js';
export { Emitter } from './emitter.js';
export type { ErrorCode } from './errors.js';
export type { FrameHandler, Transport, TransportPacing, TransportState, Unsubscribe } from './transport.js';
export { TransportStateCell } from './transport-state.js';
export type { StateListener } from './transport-state.js';
export { createMemoryNetwork, MemoryNetwork, passThrough, randomFaults } from './memory-transport.js';
export type { Adversary, Delivery, FaultOptions, MemoryTransportOptions, Packet } from './memory-transport.js';
export { createSessionId, parseSessionId, deriveSession, deriveEpochKeys, memberIdOf, kdf, Labels } from './kdf.js';
export { decodeFrame, encodeFrame, encodeHeader, FrameKind, PROTOCOL_VERSION, SUITE_V1, DEFAULT_MAX_FRAME_BYTES } from './envelope.js';
export type { DecodedFrame, Header } from './envelope.js';
export { sealBroadcast, openBroadcast, verifyBroadcast, BroadcastType } from './broadcast.js';
export { ChannelKeys, DirectType, NOISE_PROTOCOL_NAME, newHandshake, pairwisePrologue, readHandshakeFrame, writeHandshakeFrame } from './pairwise.js';
export { pairKey, pairTag, checkPairTag, PAIR_TAG_BYTES } from './pair-tag.js';
export { helloEffort, solveWork, workHash, leadingZeroBits, WORK_NONCE_BYTES, MAX_WORK_BITS, PENDING_PER_QUEUE } from './admission.js';
export type { AdmissionPolicy } from './admission.js';
export { TokenBucket } from './token-bucket.js';
export { ReplayWindow, DEFAULT_REPLAY_WINDOW } from './replay.js';
export { pad, unpad, paddedLength, padme } from './padding.js';
export { encodeCanonical } from './canonical-encode.js';
export { decodeCanonical } from './canonical-decode.js';
export { MAX_CONTENT_DEPTH } from './canonical-limits.js';
export { ready, ed25519KeyPair, x25519KeyPair, ed25519Sign, ed25519Verify, xchachaSeal, xchachaOpen, blake2b, randomBytes, memzero } from './sodium.js';
export type { KeyPair } from './sodium.js';
export { concatBytes, equalBytes, toBase64Url, fromBase64Url, base64UrlLength, toHex, fromHex, utf8, u32be, u64be } from './bytes.js';
export * from './noise/index.js';
