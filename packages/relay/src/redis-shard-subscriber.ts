/**
 * The Redis engine's notification connections (PROTOCOL-RELAY.md §6): sharded pub/sub. Each topic's channel
 * is SSUBSCRIBEd on the node that serves its slot (one connection per node; for one Redis server, one
 * connection), and the APPEND script SPUBLISHes there (redis-scripts.ts), so notifications stay within the
 * topic's shard instead of crossing every node of a cluster as PUBLISH does.
 *
 * A subscription can end without being asked: its connection closes (the node died, the network failed), or
 * the node drops it because the slot moved to another node (Redis sends SUNSUBSCRIBE). Either way `lost`
 * reports the channel, and the caller subscribes it again (redis-subscriptions.ts) and catches up from the
 * stream. An SSUBSCRIBE sent to a node that does not serve the slot is answered MOVED: followed at once.
 *
 * The connections speak RESP2 themselves (redis-resp.ts): ioredis' subscriber mode takes a server-initiated
 * SUNSUBSCRIBE for the reply to the next command in its queue, and leaves an SSUBSCRIBE answered by MOVED
 * unsettled.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { RedisAddress } from './redis-client.js';
import { encodeCommand, ReplyError, RespReader, type Reply } from './redis-resp.js';

/** Connect and command timeout: a node that does not answer in time is dropped (its channels are lost). */
const TIMEOUT_MS = 2_000;
/** MOVED redirections followed for one SSUBSCRIBE. */
const MAX_REDIRECTS = 5;
/** Slots of a Redis Cluster. */
const SLOTS = 16_384;

export interface ShardSubscriberLink {
  /** A notification: its channel and its two messages (head and body, redis-wire.ts), as received. */
  message(channel: Buffer, head: Buffer, body: Buffer): void;
  /** The channel's subscription ended without an unsubscribe(): subscribe it again and catch up. */
  lost(channel: string): void;
  /** For a cluster: the `host:port` of the primary serving `slot` as the command client last learned it. */
  route(slot: number): string | undefined;
}

/** A command waiting for its reply. */
interface Pending {
  kind: 'auth' | 'ssubscribe' | 'sunsubscribe';
  channel: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** One connection to one node, in subscriber mode. */
class NodeConnection {
  private readonly socket: net.Socket;
  private readonly reader = new RespReader();
  private readonly pending: Pending[] = [];
  /** Channels this node confirmed (SSUBSCRIBE answered) and did not drop since. */
  readonly channels = new Set<string>();
  /** The head of a notification whose body is the next message (the script publishes both at once). */
  private head: { channel: Buffer; message: Buffer } | undefined;
  closed = false;

  constructor(
    readonly key: string,
    address: RedisAddress,
    private readonly onMessage: (channel: Buffer, head: Buffer, body: Buffer) => void,
    private readonly onLost: (connection: NodeConnection, channel: string) => void,
    private readonly onClosed: (connection: NodeConnection) => void,
  ) {
    const options = { host: address.host, port: address.port };
    this.socket = address.tls ? tls.connect({ ...options, servername: address.host }) : net.connect(options);
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 10_000);
    this.socket.setTimeout(TIMEOUT_MS, () => {
      if (this.connecting()) this.close();
    });
    this.socket.on(address.tls ? 'secureConnect' : 'connect', () => this.socket.setTimeout(0));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => {});
    this.socket.on('close', () => this.close());
    if (address.password !== undefined) {
      const args = address.username === undefined ? ['AUTH', address.password] : ['AUTH', address.username, address.password];
      this.send(args, 'auth', '').catch(() => this.close());
    }
  }

  ssubscribe(channel: string): Promise<void> {
    return this.send(['SSUBSCRIBE', channel], 'ssubscribe', channel);
  }

  sunsubscribe(channel: string): void {
    this.channels.delete(channel);
    this.send(['SUNSUBSCRIBE', channel], 'sunsubscribe', channel).catch(() => {});
  }

  /** Closes the connection; pending commands reject, confirmed channels are reported lost. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(new Error('redis subscriber connection closed'));
    const lost = [...this.channels];
    this.channels.clear();
    this.onClosed(this);
    for (const channel of lost) this.onLost(this, channel);
  }

  private connecting(): boolean {
    return this.socket.connecting || (this.socket instanceof tls.TLSSocket && !this.socket.encrypted);
  }

  private send(args: string[], kind: Pending['kind'], channel: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('redis subscriber connection closed'));
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { kind, channel, resolve, reject };
      this.pending.push(p);
      this.socket.write(encodeCommand(args));
      // A node that does not answer is dropped (its channels are lost and subscribed again elsewhere or later).
      setTimeout(() => {
        if (this.pending.includes(p)) this.close();
      }, TIMEOUT_MS).unref();
    });
  }

  private onData(chunk: Buffer): void {
    try {
      this.reader.push(chunk, (reply) => this.onReply(reply));
    } catch {
      this.close(); // not RESP2, or beyond the bounds
    }
  }

  private onReply(reply: Reply): void {
    if (this.closed) return;
    if (reply instanceof ReplyError) {
      const p = this.pending.shift();
      if (p === undefined) return this.close();
      return p.reject(new Error(reply.message));
    }
    const kind = Array.isArray(reply) && Buffer.isBuffer(reply[0]) ? reply[0].toString('latin1') : typeof reply === 'string' ? reply : '';
    const channel = Array.isArray(reply) && Buffer.isBuffer(reply[1]) ? reply[1] : undefined;
    if (kind === 'smessage' && channel !== undefined && Array.isArray(reply) && Buffer.isBuffer(reply[2])) {
      const head = this.head;
      if (head === undefined) {
        this.head = { channel, message: reply[2] };
        return;
      }
      this.head = undefined;
      if (!head.channel.equals(channel)) return this.close(); // never split: the channels are read again
      return this.onMessage(channel, head.message, reply[2]);
    }
    if (this.head !== undefined) return this.close(); // a reply between a head and its body: never sent
    const head = this.pending[0];
    if (kind === 'OK' && head?.kind === 'auth') {
      this.pending.shift();
      return head.resolve();
    }
    if ((kind === 'ssubscribe' || kind === 'sunsubscribe') && channel !== undefined) {
      const name = channel.toString('utf8');
      if (head !== undefined && head.kind === kind && head.channel === name) {
        this.pending.shift();
        if (kind === 'ssubscribe') this.channels.add(name);
        return head.resolve();
      }
      // Not the answer to our command: the node dropped the subscription (its slot moved away).
      if (kind === 'sunsubscribe' && this.channels.delete(name)) this.onLost(this, name);
      return;
    }
    this.close(); // a reply this connection never asked for
  }
}

/** Sharded subscriptions over one connection per node. */
export class ShardSubscriber {
  private readonly connections = new Map<string, NodeConnection>();
  /** For each subscribed channel, the connection it is subscribed on. */
  private readonly where = new Map<string, NodeConnection>();
  /** Channels asked for (subscribe() called, unsubscribe() not since). */
  private readonly wanted = new Set<string>();
  /** Slot owners named by MOVED answers, newer than the command client's map; forgotten when they fail. */
  private readonly moved = new Map<number, string>();
  private closed = false;

  constructor(
    private readonly seed: RedisAddress,
    private readonly cluster: boolean,
    private readonly link: ShardSubscriberLink,
  ) {}

  /** Resolves once the node serving the channel's slot confirmed the SSUBSCRIBE; rejects when it could not. */
  async subscribe(channel: string): Promise<void> {
    if (this.closed) throw new Error('closed');
    this.wanted.add(channel);
    const current = this.where.get(channel);
    if (current !== undefined && !current.closed && current.channels.has(channel)) return;
    const slot = keySlot(channel);
    let key = this.cluster ? (this.moved.get(slot) ?? this.link.route(slot)) : undefined;
    for (let redirects = 0; ; redirects++) {
      const connection = this.connection(key);
      try {
        await connection.ssubscribe(channel);
      } catch (e) {
        const moved = /^MOVED \d+ (\S+)$/.exec((e as Error).message)?.[1];
        if (moved === undefined || redirects >= MAX_REDIRECTS) {
          this.moved.delete(slot);
          throw e;
        }
        this.moved.set(slot, moved);
        key = moved;
        continue;
      }
      if (this.closed || !this.wanted.has(channel)) {
        connection.sunsubscribe(channel); // unsubscribed meanwhile
        return;
      }
      const previous = this.where.get(channel);
      if (previous !== undefined && previous !== connection) previous.sunsubscribe(channel);
      this.where.set(channel, connection);
      return;
    }
  }

  unsubscribe(channel: string): void {
    this.wanted.delete(channel);
    const connection = this.where.get(channel);
    this.where.delete(channel);
    connection?.sunsubscribe(channel);
  }

  close(): void {
    this.closed = true;
    this.wanted.clear();
    this.where.clear();
    for (const c of [...this.connections.values()]) c.close();
  }

  /** The connection to `key` (`host:port`; the seed when undefined), opened if needed. */
  private connection(key: string | undefined): NodeConnection {
    const address = key === undefined ? this.seed : { ...this.seed, ...hostPort(key) };
    const k = `${address.host}:${address.port}`;
    let c = this.connections.get(k);
    if (c === undefined) {
      c = new NodeConnection(
        k,
        address,
        (channel, head, body) => this.link.message(channel, head, body),
        (connection, channel) => this.onLost(connection, channel),
        (connection) => {
          if (this.connections.get(connection.key) === connection) this.connections.delete(connection.key);
          for (const [slot, owner] of this.moved) if (owner === connection.key) this.moved.delete(slot);
        },
      );
      this.connections.set(k, c);
    }
    return c;
  }

  private onLost(connection: NodeConnection, channel: string): void {
    if (this.where.get(channel) !== connection) return;
    this.where.delete(channel);
    if (this.wanted.has(channel) && !this.closed) this.link.lost(channel);
  }
}

function hostPort(key: string): { host: string; port: number } {
  const i = key.lastIndexOf(':');
  return { host: key.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(key.slice(i + 1)) };
}

/**
 * The cluster slot of a key or channel: CRC16 (XMODEM) of its hash tag (the first `{...}`, when not empty) mod 16384.
 * Not cluster-key-slot (ioredis' own): it hashes `a{}b{c}` by `c`, where Redis hashes the whole key (the test
 * compares this one with CLUSTER KEYSLOT).
 */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}
