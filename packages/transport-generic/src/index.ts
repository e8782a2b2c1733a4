/**
 * @sealsig/transport-generic: sealsig over any existing signaler (socket.io, a custom WebSocket server,
 * RTCMultiConnection's openSignalingChannel pattern): wrap a send function and a message callback.
 */
export { createGenericTransport, GenericTransport, DEFAULT_MAX_FRAME_BYTES } from './transport.js';
export type { GenericTransportOptions, GenericTransportStats } from './transport.js';
export { decode as decodeIncoming, base64UrlLength } from './codec.js';
export type { Encoding } from './codec.js';
