/**
 * The shared conformance suite (@sealsig/transport-conformance, docs/ADAPTERS.md §5) against the real
 * `firebase` 12 SDK and a local firebase-server, every transport on its own firebase client.
 */
import { transportConformance, waitUntil } from '@sealsig/transport-conformance';
import { FirebaseHarness } from './harness.js';
import type { FirebaseTransport } from '../src/index.js';

const harness = new FirebaseHarness();

transportConformance('firebase', {
  setup: () => harness.start(),
  teardown: () => harness.stop(),
  create: () => harness.create(),
  // The SDK fires events for the client's own writes; the transport filters them by writer id.
  selfEcho: false,
  oversize: 'error',
  // A network failure: the server kills the client's socket; the SDK reconnects by itself.
  disrupt: async (transport) => {
    const t = transport as FirebaseTransport;
    if (harness.dropSocket(t) === 0) throw new Error('no socket to drop');
    await waitUntil(() => t.state !== 'open', 5000, 'the transport noticed the dropped socket');
  },
  openResources: () => harness.openResources(),
});
