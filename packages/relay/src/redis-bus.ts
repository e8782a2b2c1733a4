/**
 * Redis fan-out between relay nodes (PROTOCOL-RELAY.md §6). Every node PUBLISHes each accepted frame on the
 * Redis channel `sealsig:<topic>` as [16-byte node id][frame bytes], SUBSCRIBEs to the channels of the
 * topics its own clients subscribe to (UNSUBSCRIBEs when the last local subscriber leaves), and drops
 * messages carrying its own node id. Two connections: Redis needs a dedicated one for SUBSCRIBE.
 */
import { Redis } from 'ioredis';

export const CHANNEL_PREFIX = 'sealsig:';
const NODE_ID_BYTES = 16;

export interface RedisBusOptions {
  url: string;
  onFrame: (topic: string, frame: Buffer) => void;
  onError: (error: Error) => void;
}

export class RedisBus {
  readonly nodeId: Buffer;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private closed = false;

  constructor(private readonly options: RedisBusOptions) {
    this.nodeId = Buffer.alloc(NODE_ID_BYTES);
    globalThis.crypto.getRandomValues(this.nodeId);
    const common = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.pub = new Redis(options.url, common);
    this.sub = new Redis(options.url, common);
    this.pub.on('error', (e: Error) => options.onError(e));
    this.sub.on('error', (e: Error) => options.onError(e));
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.receive(channel, message));
  }

  async connect(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
  }

  publish(topic: string, frame: Uint8Array): void {
    if (this.closed) return;
    const message = Buffer.allocUnsafe(NODE_ID_BYTES + frame.length);
    this.nodeId.copy(message, 0);
    message.set(frame, NODE_ID_BYTES);
    this.pub.publish(CHANNEL_PREFIX + topic, message).catch((e: Error) => this.options.onError(e));
  }

  /** Resolves once Redis has confirmed the subscription (or failed: the error is reported, not thrown). */
  subscribe(topic: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.sub.subscribe(CHANNEL_PREFIX + topic).then(
      () => undefined,
      (e: Error) => this.options.onError(e),
    );
  }

  unsubscribe(topic: string): void {
    if (this.closed) return;
    this.sub.unsubscribe(CHANNEL_PREFIX + topic).catch((e: Error) => this.options.onError(e));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  private receive(channel: Buffer, message: Buffer): void {
    if (message.length <= NODE_ID_BYTES) return;
    if (message.subarray(0, NODE_ID_BYTES).equals(this.nodeId)) return; // our own echo
    const name = channel.toString('latin1');
    if (!name.startsWith(CHANNEL_PREFIX)) return;
    this.options.onFrame(name.slice(CHANNEL_PREFIX.length), message.subarray(NODE_ID_BYTES));
  }
}
