/**
 * @sealsig/transport-broadcast-channel: sealsig over BroadcastChannel, between browser tabs and workers of
 * one origin, or worker_threads of one Node process (docs/ADAPTERS.md).
 *
 * @module @sealsig/transport-broadcast-channel
 */
export { BroadcastChannelTransport, createBroadcastChannelTransport, DEFAULT_MAX_FRAME_BYTES, DEFAULT_PREFIX } from './transport.js';
export type { BroadcastChannelStats, BroadcastChannelTransportOptions } from './transport.js';
export type { BroadcastChannelConstructor, BroadcastChannelLike } from './channel.js';
