/**
 * Where things live in the database (README.md, "What the database sees"):
 *
 *   ${root}/topics/${topic}/frames/${pushId}    = { d: base64url(frame), t: server time, w: writer id }
 *   ${root}/topics/${topic}/presence/${writerId} = server time of the last (re)subscription
 *
 * The topic is used as one key, unchanged, so the mapping is one-to-one (docs/ADAPTERS.md §1).
 */
import { SealsigError } from '@sealsig/core';

/**
 * Topics the adapter accepts: one Firebase key of the base64url alphabet. Core's topics (route tags) are
 * 22 such characters; database.rules.json admits only those.
 */
const TOPIC = /^[A-Za-z0-9_-]{1,128}$/;

/** A database path the adapter may use as its root: 1 to 8 keys of the base64url alphabet. */
export const DATABASE_PATH = /^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,7}$/;

export function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || !TOPIC.test(topic)) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'topic must be 1 to 128 characters of [A-Za-z0-9_-]');
  }
}

export const framesPath = (root: string, topic: string): string => `${root}/topics/${topic}/frames`;

export const presencePath = (root: string, topic: string, writerId: string): string =>
  `${root}/topics/${topic}/presence/${writerId}`;
