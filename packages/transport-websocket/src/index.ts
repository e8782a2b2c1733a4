/**
 * @sealsig/transport-websocket: a sealsig Transport over WebSocket to a sealsig relay (@sealsig/relay,
 * wire protocol v2), for browsers and Node, with reconnect, URL rotation, subscriptions resumed from their
 * last position (gaps reported), and acknowledged publishes held in a bounded queue. See README.md.
 *
 * @module @sealsig/transport-websocket
 */
export { createWebSocketTransport } from './transport.js';
export type { WebSocketTransport } from './transport.js';
export type { TokenSource, TransportEvent, TransportEventType, WebSocketTransportOptions } from './options.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { SUBPROTOCOL, Op, RelayErrorCodes, MAX_TOPIC_BYTES, isValidTopic, decodeRelayMessage, encodePublish, encodeSubscribe, encodeUnsubscribe, POSITION_BYTES, RETRYABLE_NACKS } from './protocol.js';
export type { DecodeResult, RelayErrorName, RelayMessage } from './protocol.js';
export { backoffDelay } from './backoff.js';
