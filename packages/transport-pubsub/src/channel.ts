/**
 * Topic to channel mapping. Core's topics are route tags: 22 characters of base64url (docs/ADAPTERS.md §1).
 * The transport accepts topics of 1 to 128 characters from that alphabet, [A-Za-z0-9_-], and maps them
 * one-to-one to `prefix + topic`. That alphabet is safe on every service here: no MQTT wildcard (+ #) or
 * level separator (/), no NATS wildcard (* >), token separator (.) or whitespace, nothing PubNub
 * reserves (, : * / \ .). The client's own checkChannel() then checks the full name (prefix included).
 */
import { SealsigError } from '@sealsig/core';

/** Longest topic accepted, in characters. */
export const MAX_TOPIC_LENGTH = 128;
const TOPIC = /^[A-Za-z0-9_-]+$/;

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new SealsigError('E_INVALID_ARGUMENT', 'the topic must be a non-empty string');
  if (topic.length > MAX_TOPIC_LENGTH) throw new SealsigError('E_INVALID_ARGUMENT', `the topic is over ${MAX_TOPIC_LENGTH} characters`);
  if (!TOPIC.test(topic)) throw new SealsigError('E_INVALID_ARGUMENT', 'the topic must consist of base64url characters [A-Za-z0-9_-]');
}

/** The channel for a topic; `check` is the client's naming rule (returns a reason when it refuses). */
export function channelFor(prefix: string, topic: string, check?: (channel: string) => string | undefined): string {
  const channel = prefix + topic;
  const reason = check?.(channel);
  if (reason !== undefined) throw new SealsigError('E_INVALID_ARGUMENT', `channel "${channel}" is not valid here: ${reason}`);
  return channel;
}
