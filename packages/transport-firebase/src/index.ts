/**
 * @sealsig/transport-firebase: a sealsig transport over Firebase Realtime Database (README.md).
 *
 * @module @sealsig/transport-firebase
 */
export { createFirebaseTransport } from './transport.js';
export type { FirebaseTransport } from './transport.js';
export { DEFAULTS, MAX_FRAME_BYTES_LIMIT } from './options.js';
export type { FirebaseTransportOptions } from './options.js';
export { decodeFrameChild, encodeFrameChild, encodedLength } from './frame-child.js';
export type { DecodedChild, FrameChild } from './frame-child.js';
export { firebaseDescriptorStore, DESCRIPTOR_MAX_BYTES, DESCRIPTOR_MAX_TTL_MS } from './descriptor-store.js';
export type { DescriptorStore, DescriptorPutOptions, FirebaseDescriptorStoreOptions } from './descriptor-store.js';
