/**
 * The conformance suite in one thread: instances of the adapter on Node's global BroadcastChannel.
 * A counting subclass of BroadcastChannel (passed as the constructor option) shows close() closes every
 * channel it opened.
 */
import { transportConformance } from '@sealsig/transport-conformance';
import { createBroadcastChannelTransport } from '../src/index.js';

let open = 0;
class CountingChannel extends BroadcastChannel {
  #closed = false;
  constructor(name: string) {
    super(name);
    open++;
  }
  override close(): void {
    if (!this.#closed) open--;
    this.#closed = true;
    super.close();
  }
}

transportConformance('BroadcastChannel, one thread', {
  create: async () => createBroadcastChannelTransport({ BroadcastChannel: CountingChannel, prefix: 'conformance:' }),
  selfEcho: false,
  oversize: 'error',
  openResources: () => open,
});
