/**
 * @sealsig/transport-generic: sealsig over any existing signaler (socket.io, a custom WebSocket server,
 * RTCMultiConnection's openSignalingChannel pattern): wrap a send function and a message callback.
 *
 * @module @sealsig/transport-generic
 */
export { createGenericTransport, GenericTransport } from './transport.js';
export { DEFAULT_MAX_FRAME_BYTES } from '@sealsig/core';
export type { GenericTransportOptions, GenericTransportStats } from './transport.js';
export { decode as decodeIncoming } from './codec.js';
export { base64UrlLength } from '@sealsig/core';
export type { Encoding } from './codec.js';
