/** @sealsig/rooms: rooms and access control for sealsig. */
export * from './cpace/index.js';
