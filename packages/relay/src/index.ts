/**
 * @sealsig/relay: a production WebSocket relay for sealsig frames (README.md, PROTOCOL-RELAY.md).
 *
 * @module @sealsig/relay
 */
export { createRelay, type Relay } from './relay.js';
export type { RelayOptions, RelayLogger, DescriptorOptions } from './options.js';
export type { RateLimit } from './rate-limit.js';
export type { MemoryEngineOptions } from './memory-engine.js';
export { compareOffsets, EngineUnavailable, type Engine, type EngineListener, type History, type Offset, type Position, type Publication } from './engine.js';
export type { MetricsSnapshot } from './metrics.js';
export { RelayError, type RelayErrorCode } from './errors.js';
export {
  createAdmissionToken,
  verifyAdmissionToken,
  grantAdmits,
  type AdmissionTokenOptions,
  type AdmissionGrant,
} from './token.js';
export { sodiumReady } from './sodium.js';
export { createTurnCredentials, type TurnCredentials, type TurnCredentialOptions } from './turn.js';
export type { TurnResponse } from './turn-endpoint.js';
export {
  SUBPROTOCOL,
  Op,
  ErrorCode,
  CloseCode,
  MAX_TOPIC_BYTES,
  MAX_OVERHEAD_BYTES,
  isTopic,
  decodeInbound,
  decodeOutbound,
  encodeTopicMessage,
  encodeSubscribe,
  encodePublish,
  encodeDeliver,
  encodeSubscribed,
  encodeAck,
  encodeNack,
  encodeError,
  encodeLimits,
  LIMITS_BYTES,
  POSITION_BYTES,
  RECOVERED,
  type AnnouncedLimits,
  type Inbound,
  type Outbound,
} from './protocol.js';
