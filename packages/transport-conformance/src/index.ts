/**
 * @sealsig/transport-conformance: one vitest suite that every sealsig transport adapter passes, in the
 * spirit of js-libp2p's interface-compliance-tests. An adapter's test file calls
 *
 *   transportConformance('my adapter', { create, ... });
 *
 * at top level, and the suite registers its `describe` block (docs/ADAPTERS.md §5). The checks are also
 * exported one by one: each takes the same options and rejects with a ConformanceError on a violation.
 *
 * @module @sealsig/transport-conformance
 */
export type { ConformanceOptions, ResolvedOptions } from './options.js';
export { resolveOptions } from './options.js';
export { transportConformance } from './suite.js';
export { checkBurst, checkByteExact, checkMultiTopic, checkSelfEcho, checkTopicIsolation, checkUnsubscribe } from './delivery.js';
export { checkClose, checkReconnect } from './lifecycle.js';
export { checkInvalidArguments, checkOversize } from './limits.js';
export { checkSessionEndToEnd, nextEvent } from './session.js';
export { checkPacing, declaresPacing } from './pacing.js';
export {
  ConformanceError,
  Inbox,
  check,
  describeDifference,
  equalBytes,
  expectRejects,
  inboxTopic,
  randomBytes,
  randomTopic,
  sleep,
  waitOpen,
  waitUntil,
  withTransports,
} from './helpers.js';
export { freePort, startMosquitto, startNats, startRedis, waitForPort } from './services.js';
export type { RedisServiceOptions, Service } from './services.js';
export { startRedisCluster } from './redis-cluster.js';
export type { RedisCluster, RedisClusterNode, RedisClusterOptions } from './redis-cluster.js';
