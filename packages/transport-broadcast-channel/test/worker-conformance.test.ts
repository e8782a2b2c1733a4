/**
 * The conformance suite across worker_threads: instances alternate between two worker threads, so every
 * two instances a check creates in a row (publisher and subscriber) talk across threads.
 */
import { transportConformance } from '@sealsig/transport-conformance';
import { WorkerHost } from './worker-proxy.js';

let hosts: WorkerHost[] = [];
let n = 0;

transportConformance('BroadcastChannel, across worker_threads', {
  setup: async () => {
    hosts = [new WorkerHost(), new WorkerHost()];
  },
  teardown: async () => {
    await Promise.all(hosts.map((h) => h.terminate()));
  },
  create: () => hosts[n++ % 2]!.create('workers:'),
  selfEcho: false,
  oversize: 'error',
  numRuns: 10,
});
