/**
 * @sealsig/transport-firebase: a sealsig transport over Firebase Realtime Database (README.md).
 */
export { createFirebaseTransport } from './transport.js';
export type { FirebaseTransport } from './transport.js';
export { DEFAULTS, MAX_FRAME_BYTES_LIMIT } from './options.js';
export type { FirebaseTransportOptions } from './options.js';
export { decodeFrameChild, encodeFrameChild, encodedLength } from './frame-child.js';
export type { DecodedChild, FrameChild } from './frame-child.js';
