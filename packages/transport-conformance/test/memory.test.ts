/** The suite against core's in-memory network, the reference transport. */
import { createMemoryNetwork } from '@sealsig/core';
import { transportConformance } from '../src/index.js';

const net = createMemoryNetwork();

transportConformance('core memory network', {
  create: async () => net.connect(),
  selfEcho: true,
  oversize: 'error',
});

transportConformance('core memory network without self-echo', {
  create: async () => net.connect({ selfEcho: false, maxFrameBytes: 4096 }),
  selfEcho: false,
  oversize: 'error',
  numRuns: 5,
});
