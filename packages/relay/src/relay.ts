/**
 * The relay (PROTOCOL-RELAY.md): routes opaque frames between WebSocket connections by topic, with
 * admission tokens, rate limits, backpressure and metrics. Where frames are kept, with which offsets, and how
 * they reach other nodes is the engine's business (engine.ts: memory, or Redis with `redis`); the relay
 * acknowledges a PUBLISH once the engine stored it, and resumes a subscriber from its last position. It never
 * decodes a frame. Every handler is wrapped: one bad client can close its own connection, never the relay.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { IpLimiter, serveDescriptors, type DescriptorEndpointContext } from './descriptor-endpoint.js';
import { DescriptorTable } from './descriptors.js';
import { EngineUnavailable, compareOffsets, type Engine, type History, type Offset, type Position, type Publication } from './engine.js';
import { RelayError } from './errors.js';
import { MemoryEngine } from './memory-engine.js';
import { createRedisEngine } from './redis-engine.js';
import { RedisDescriptorTable } from './redis-descriptors.js';
import { Metrics, type DropReason, type Gauges, type MetricsSnapshot } from './metrics.js';
import { resolveOptions, type RelayOptions, type ResolvedOptions } from './options.js';
import {
  CloseCode,
  ErrorCode,
  MAX_OVERHEAD_BYTES,
  Op,
  SUBPROTOCOL,
  decodeInbound,
  encodeAck,
  encodeDeliver,
  encodeError,
  encodeNack,
  encodeSubscribed,
  isTopic,
} from './protocol.js';
import { TokenBucket } from './rate-limit.js';
import { sodiumReady } from './sodium.js';
import { serveStatic } from './static-files.js';
import { grantAdmits, verifyAdmissionToken, type AdmissionGrant } from './token.js';
import { serveTurn, type TurnEndpointContext } from './turn-endpoint.js';
import { wsErrorCloseCode } from './ws-errors.js';

/** The subprotocol of version 1, refused with 4002. */
const SUBPROTOCOL_V1 = 'sealsig-relay.1';
/** How long a closing socket may take to finish the close handshake before it is terminated. */
const CLOSE_GRACE_MS = 1_000;
/** Longest a closing socket that keeps sending is read (and its input discarded) before it is terminated. */
const MAX_CLOSE_DRAIN_MS = 10_000;
/** Sockets being refused (closed right after the upgrade) at once; beyond this, upgrades are dropped raw. */
const MAX_REFUSING = 1_024;
/** ERROR 2 replies per connection per flood window (the rest of the drops are silent). */
const MAX_RATE_ERRORS_PER_WINDOW = 10;
/** How often expired room descriptors are dropped. */
const DESCRIPTOR_SWEEP_MS = 60_000;
/**
 * An ACK goes out once this many PUBLISHes are settled since the last one, or ACK_DELAY_MS after the first (§3.2).
 * 100 ms: a publisher sending a few frames a second would otherwise get one ACK per frame, a second socket write
 * per delivery in a two-member room (bench/relay.ts, 1,000 rooms x 2: 0.59 - 0.65 of bare ws per CPU-second at
 * 10 ms, 0.65 - 0.81 at 100 ms); a client holds its frames that much longer.
 */
const ACK_EVERY = 32;
const ACK_DELAY_MS = 100;
/** Live publications held for a subscriber while its history is read; beyond this it is closed 4010 and resumes. */
const MAX_HELD_PER_SUBSCRIBE = 4096;
/** How often the memory engine drops frames past their age. */
const SWEEP_MS = 5_000;

/** Local subscribers of one topic; `ready` until the engine's subscription is confirmed, then undefined. */
interface TopicState {
  subs: Set<Conn>;
  ready: Promise<void> | undefined;
}

/** A subscription whose history is being read: live publications wait here, then follow the history in order. */
interface Catchup {
  held: { epoch: Uint8Array; publication: Publication }[];
}

interface Conn {
  id: number;
  ws: WebSocket;
  ip: string;
  topics: Set<string>;
  /** Topics whose SUBSCRIBED is not sent yet (engine subscription, history): live publications are held. */
  pending: Map<string, Catchup>;
  /** PUBLISH messages received (each one's sequence number, §3.1). */
  published: number;
  /** Sequence numbers handed to the engine and not settled yet, oldest first (the engine settles in order). */
  storing: number[];
  /** The last sequence number acknowledged. */
  acked: number;
  ackTimer: NodeJS.Timeout | undefined;
  /** What the admission token allows (one topic, or a topic family), or undefined (no admission configured). */
  scope: AdmissionGrant | undefined;
  frames: TokenBucket;
  subs: TokenBucket;
  windowStart: number;
  windowDrops: number;
  alive: boolean;
  closing: boolean;
  killTimer: NodeJS.Timeout | undefined;
}

/** A relay server (createRelay). */
export interface Relay {
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{
    /** The TCP port. */
    port: number;
    /** The interface address. */
    host: string;
  }>;
  /** Graceful shutdown: /healthz 503, clients closed with 1012, drained, every resource released. Idempotent. */
  close(): Promise<void>;
  /** The bound address, once listening. */
  readonly address: {
    /** The TCP port. */
    port: number;
    /** The interface address. */
    host: string;
  } | undefined;
  /** Counters and gauges (the same figures /metrics serves). */
  metrics(): MetricsSnapshot;
  /** /metrics as Prometheus text. */
  metricsText(): string;
}

/** A relay with these options (validated now: E_INVALID_ARGUMENT); call listen() to serve. */
export function createRelay(options: RelayOptions = {}): Relay {
  return new RelayServer(resolveOptions(options));
}

class RelayServer implements Relay {
  private readonly o: ResolvedOptions;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Conn>();
  private readonly perIp = new Map<string, number>();
  private readonly topics = new Map<string, TopicState>();
  private readonly engine: Engine;
  /** The engine when it is the memory engine (its publications settle synchronously: onPublish's fast path). */
  private readonly memory: MemoryEngine | undefined;
  private readonly stats = new Metrics();
  private readonly descriptors: DescriptorEndpointContext;
  private readonly turn: TurnEndpointContext;
  /** Why the engine cannot store frames (Redis unreachable), or undefined while it can. */
  private unavailable: string | undefined;
  private nextId = 1;
  private refusing = 0;
  private state: 'new' | 'listening' | 'draining' | 'closed' = 'new';
  private bound: { port: number; host: string } | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private descriptorSweeper: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(o: ResolvedOptions) {
    this.o = o;
    this.engine = o.redis !== undefined ? createRedisEngine({ ...o.redis, logger: o.logger }) : new MemoryEngine(o.retention);
    this.memory = this.engine instanceof MemoryEngine ? this.engine : undefined;
    const d = o.descriptors;
    this.descriptors = {
      table: d === undefined ? undefined : o.redis !== undefined ? new RedisDescriptorTable({ ...d, ...o.redis, logger: o.logger }) : new DescriptorTable(d),
      limiter: d === undefined ? undefined : new IpLimiter(d.rateLimit),
      allowedOrigins: o.allowedOrigins,
      count: (result) => this.stats.descriptorRequest(result),
    };
    this.turn = {
      turn: o.turn,
      admissionKey: o.admissionKey,
      allowedOrigins: o.allowedOrigins,
      limiter: o.turn === undefined ? undefined : new IpLimiter(o.turn.rateLimit),
      count: (result) => this.stats.turnRequest(result),
    };
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_e, socket: Duplex) => socket.destroy());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.maxFrameBytes + MAX_OVERHEAD_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      // A version 1 client is answered in its own subprotocol so that it sees the 4002 close (§1) rather than a
      // failed handshake; it is closed right after the upgrade.
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : protocols.has(SUBPROTOCOL_V1) ? SUBPROTOCOL_V1 : false),
    });
  }

  get address(): { port: number; host: string } | undefined {
    return this.bound;
  }

  async listen(): Promise<{ port: number; host: string }> {
    if (this.state !== 'new') throw new RelayError('E_STATE', 'listen() may be called once, before close()');
    this.state = 'listening';
    if (this.o.admissionKey !== undefined || this.descriptors.table !== undefined) await sodiumReady();
    await this.descriptors.table?.start?.();
    await this.engine.start({
      publication: (topic, epoch, p) => this.guard(() => this.onPublication(topic, epoch, p)),
      availability: (available, reason) => this.guard(() => this.onAvailability(available, reason)),
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (e) => this.o.logger('error', 'server error', { error: e.message }));
    const a = this.server.address() as AddressInfo;
    this.bound = { port: a.port, host: a.address };
    if (this.o.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.guard(() => this.beat()), this.o.heartbeatMs);
      this.heartbeat.unref();
    }
    const engine = this.engine;
    if (engine instanceof MemoryEngine) {
      this.sweeper = setInterval(() => this.guard(() => engine.sweep()), SWEEP_MS);
      this.sweeper.unref();
    }
    const table = this.descriptors.table;
    if (table instanceof DescriptorTable) {
      this.descriptorSweeper = setInterval(() => this.guard(() => table.sweep(performance.now())), DESCRIPTOR_SWEEP_MS);
      this.descriptorSweeper.unref();
    }
    this.o.logger('info', 'listening', { ...this.bound });
    return this.bound;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  metrics(): MetricsSnapshot {
    return this.stats.snapshot(this.gauges());
  }

  metricsText(): string {
    return this.stats.render(this.gauges());
  }

  private gauges(): Gauges {
    return {
      connections: this.conns.size,
      topics: this.topics.size,
      retainedBytes: this.engine.bytes,
      engineAvailable: this.unavailable === undefined ? 1 : 0,
      descriptors: this.descriptors.table?.size ?? 0,
      descriptorBytes: this.descriptors.table?.bytes ?? 0,
    };
  }

  // ---- shutdown ----------------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    const wasListening = this.state === 'listening';
    this.state = 'draining';
    if (wasListening) {
      // §5 From here PUBLISH is refused (NACK 7: the client sends it again after reconnecting); what was
      // accepted is stored and acknowledged before clients are told to go, so nothing acknowledged is lost.
      this.o.logger('info', 'draining', { connections: this.conns.size });
      if (this.o.drainDelayMs > 0) await sleep(this.o.drainDelayMs);
      const settled = Date.now() + this.o.drainTimeoutMs;
      while ([...this.conns].some((c) => c.storing.length > 0) && Date.now() < settled) await sleep(5);
      for (const conn of this.conns) this.sendAck(conn);
      for (const conn of this.conns) this.closeConn(conn, CloseCode.serviceRestart, 'service restart');
      const deadline = Date.now() + this.o.drainTimeoutMs;
      while (this.conns.size > 0 && Date.now() < deadline) await sleep(20);
      for (const conn of this.conns) conn.ws.terminate();
    }
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
    clearInterval(this.descriptorSweeper);
    await this.descriptors.table?.close();
    this.wss.close();
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    for (const conn of this.conns) clearTimeout(conn.ackTimer);
    await this.engine.close();
    this.state = 'closed';
    this.o.logger('info', 'closed');
  }

  // ---- HTTP ----------------------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handleRequest(req, res).catch((e: unknown) => {
      this.o.logger('error', 'http handler failed', { error: String(e) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  }

  private async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const why = this.state !== 'listening' ? 'draining' : this.unavailable;
      res.writeHead(why === undefined ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(why ?? 'ok');
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(this.metricsText());
      return;
    }
    if (path === '/turn') return serveTurn(this.turn, req, res, this.clientIp(req));
    if (path === '/descriptors' || path?.startsWith('/descriptors/')) return serveDescriptors(this.descriptors, req, res, this.clientIp(req));
    if (this.o.staticDir !== undefined && (await serveStatic(this.o.staticDir, req, res))) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found');
  }

  // ---- admission -----------------------------------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.refusing >= MAX_REFUSING || this.state !== 'listening' && this.state !== 'draining') {
      socket.destroy();
      return;
    }
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.guard(() => this.admit(ws, req)));
    } catch (e) {
      this.o.logger('warn', 'upgrade failed', { error: String(e) });
      socket.destroy();
    }
  }

  private admit(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', () => {});
    if (this.state !== 'listening') return this.refuse(ws, CloseCode.serviceRestart, 'service restart');
    if (ws.protocol !== SUBPROTOCOL) return this.refuse(ws, CloseCode.version, `offer the subprotocol ${SUBPROTOCOL}`);
    const origin = req.headers.origin;
    if (this.o.allowedOrigins !== undefined && origin !== undefined && !this.o.allowedOrigins.has(origin)) {
      return this.refuse(ws, CloseCode.policyViolation, 'origin not allowed');
    }
    let scope: AdmissionGrant | undefined;
    if (this.o.admissionKey !== undefined) {
      const token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
      if (token === null) return this.refuse(ws, CloseCode.badToken, 'admission token missing');
      try {
        scope = verifyAdmissionToken(token, this.o.admissionKey);
      } catch (e) {
        const expired = e instanceof RelayError && e.code === 'E_TOKEN_EXPIRED';
        return this.refuse(ws, CloseCode.badToken, expired ? 'admission token expired' : 'admission token invalid');
      }
    }
    const ip = this.clientIp(req);
    if (this.conns.size >= this.o.maxConnections) return this.refuse(ws, CloseCode.tryAgainLater, 'too many connections');
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.o.maxConnectionsPerIp) return this.refuse(ws, CloseCode.tryAgainLater, 'too many connections from this address');
    this.perIp.set(ip, fromIp + 1);
    const now = performance.now();
    const conn: Conn = {
      id: this.nextId++,
      ws,
      ip,
      topics: new Set(),
      pending: new Map(),
      published: 0,
      storing: [],
      acked: 0,
      ackTimer: undefined,
      scope,
      frames: new TokenBucket(this.o.frames, now),
      subs: new TokenBucket(this.o.subscriptions, now),
      windowStart: now,
      windowDrops: 0,
      alive: true,
      closing: false,
      killTimer: undefined,
    };
    this.conns.add(conn);
    ws.on('message', (data: RawData, isBinary: boolean) => this.guard(() => this.onMessage(conn, data, isBinary)));
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('error', (e: Error & { code?: string }) => {
      // ws closes the socket itself after a protocol error; count the code it sends (1002, 1007, 1009...).
      const code = wsErrorCloseCode(e);
      if (code === CloseCode.messageTooBig) this.stats.drop('frame_too_large');
      if (!conn.closing) this.stats.close(code);
      this.detach(conn);
    });
    ws.on('close', () => this.guard(() => this.forget(conn)));
  }

  private clientIp(req: IncomingMessage): string {
    if (this.o.trustProxy) {
      const xff = req.headers['x-forwarded-for'];
      const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').pop()?.trim();
      if (last !== undefined && last !== '' && last.length <= 64) return last;
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  /** Closes a socket that was never admitted. */
  private refuse(ws: WebSocket, code: number, reason: string): void {
    this.stats.close(code);
    this.refusing++;
    let counted = true;
    const done = (): void => {
      if (counted) {
        counted = false;
        this.refusing--;
      }
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done();
    }, CLOSE_GRACE_MS);
    timer.unref();
    ws.on('close', done);
    ws.close(code, reason);
  }

  // ---- connections ---------------------------------------------------------------------------------------

  /** Relay-initiated close of an admitted connection; it leaves its topics at once. */
  private closeConn(conn: Conn, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    this.stats.close(code);
    this.detach(conn);
    // Destroying a socket with unread input makes the kernel send a RST, and the client's kernel then drops
    // what the client has not read yet, the close frame included: a flooder busy sending would see 1006, not
    // `code`. So while input keeps arriving, the terminate waits (CLOSE_GRACE_MS at a time, MAX_CLOSE_DRAIN_MS
    // in all) and the input is read and discarded (ws keeps reading; onMessage returns early when closing).
    const socket = (conn.ws as unknown as { _socket?: { bytesRead: number } })._socket;
    const deadline = performance.now() + MAX_CLOSE_DRAIN_MS;
    let read = socket?.bytesRead ?? 0;
    const expire = (): void => {
      const now = socket?.bytesRead ?? 0;
      if (now === read || performance.now() >= deadline) return conn.ws.terminate();
      read = now;
      conn.killTimer = setTimeout(expire, CLOSE_GRACE_MS);
      conn.killTimer.unref();
    };
    conn.killTimer = setTimeout(expire, CLOSE_GRACE_MS);
    conn.killTimer.unref();
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
  }

  /** Removes a connection from every topic (idempotent). */
  private detach(conn: Conn): void {
    for (const topic of conn.topics) this.leave(conn, topic);
  }

  /** The socket is gone: release everything it held. */
  private forget(conn: Conn): void {
    clearTimeout(conn.killTimer);
    clearTimeout(conn.ackTimer);
    this.detach(conn);
    if (!this.conns.delete(conn)) return;
    const n = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.ip);
    else this.perIp.set(conn.ip, n);
  }

  private beat(): void {
    for (const conn of this.conns) {
      if (conn.closing) continue;
      if (!conn.alive) {
        // A missed pong: the peer is gone or hung; no close handshake is attempted.
        this.stats.close(CloseCode.goingAway);
        conn.closing = true;
        this.detach(conn);
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  // ---- messages ------------------------------------------------------------------------------------------

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    if (!isBinary) return this.closeConn(conn, CloseCode.unsupportedData, 'binary messages only');
    const msg = toBuffer(data);
    const m = decodeInbound(msg);
    const now = performance.now();
    // §3.1 Every message with the PUBLISH opcode has the next sequence number, whatever it holds.
    if (msg[0] === Op.publish) return this.onPublish(conn, msg, m, ++conn.published, now);
    switch (m.kind) {
      case 'subscribe':
        return this.onSubscribe(conn, m.topic, m.since, now);
      case 'unsubscribe':
        if (!conn.subs.take(now)) return this.rateLimited(conn, m.topic, now);
        return this.leave(conn, m.topic);
      case 'error':
        if (!conn.frames.take(now)) return this.rateLimited(conn, '', now);
        return this.reject(conn, m.code === ErrorCode.badTopic ? 'bad_topic' : 'malformed', m.code, m.topic, m.reason);
      case 'publish':
        return; // unreachable: decodeInbound gives 'publish' only for the PUBLISH opcode
    }
  }

  /** §3.1 A PUBLISH: stored by the engine (then acknowledged), or refused with a NACK naming its sequence number. */
  private onPublish(conn: Conn, msg: Buffer, m: ReturnType<typeof decodeInbound>, seq: number, now: number): void {
    if (!conn.frames.take(now)) {
      this.rateLimited(conn, m.kind === 'publish' ? m.topic : '', now, seq);
      return this.settled(conn);
    }
    if (m.kind !== 'publish') return this.refusePublish(conn, seq, m.kind === 'error' && m.code === ErrorCode.badTopic ? 'bad_topic' : 'malformed', m.kind === 'error' ? m.code : ErrorCode.malformed);
    if (this.outOfScope(conn, m.topic, seq)) return this.settled(conn);
    if (m.frameBytes > this.o.maxFrameBytes) return this.refusePublish(conn, seq, 'frame_too_large', ErrorCode.frameTooLarge);
    if (this.state !== 'listening' || this.unavailable !== undefined) return this.refusePublish(conn, seq, 'unavailable', ErrorCode.unavailable);
    this.stats.framesIn++;
    this.stats.bytesIn += msg.length;
    if (this.memory !== undefined) {
      // The memory engine stores synchronously: the PUBLISH is settled now (nothing of it is pending, so
      // `storing` stays as it was), without a promise and two closures per frame.
      this.memory.append(m.topic, msg.subarray(m.frameStart), conn.id);
      return this.settled(conn);
    }
    conn.storing.push(seq);
    this.engine.publish(m.topic, msg.subarray(m.frameStart), conn.id).then(
      () => this.guard(() => this.stored(conn, seq)),
      (e: unknown) =>
        this.guard(() => {
          if (!(e instanceof EngineUnavailable)) this.o.logger('error', 'engine publish failed', { error: e instanceof Error ? e.message : String(e) });
          this.send(conn, encodeNack(seq, ErrorCode.unavailable));
          this.stats.drop('unavailable');
          this.stored(conn, seq);
        }),
    );
  }

  private refusePublish(conn: Conn, seq: number, reason: DropReason, code: number): void {
    this.stats.drop(reason);
    this.send(conn, encodeNack(seq, code));
    this.settled(conn);
  }

  /** The engine settled `seq` (the oldest one it holds: engines settle in order). */
  private stored(conn: Conn, seq: number): void {
    if (conn.storing[0] === seq) conn.storing.shift();
    else conn.storing.splice(conn.storing.indexOf(seq), 1);
    this.settled(conn);
  }

  /** §3.2 Cumulative acknowledgement: every ACK_EVERY settled PUBLISHes, or ACK_DELAY_MS after the first. */
  private settled(conn: Conn): void {
    const upTo = conn.storing.length > 0 ? conn.storing[0]! - 1 : conn.published;
    if (upTo - conn.acked >= ACK_EVERY) return this.sendAck(conn);
    if (upTo > conn.acked && conn.ackTimer === undefined && !conn.closing) {
      conn.ackTimer = setTimeout(() => this.guard(() => this.sendAck(conn)), ACK_DELAY_MS);
      conn.ackTimer.unref();
    }
  }

  private sendAck(conn: Conn): void {
    clearTimeout(conn.ackTimer);
    conn.ackTimer = undefined;
    const upTo = conn.storing.length > 0 ? conn.storing[0]! - 1 : conn.published;
    if (upTo <= conn.acked) return;
    conn.acked = upTo;
    this.send(conn, encodeAck(upTo));
  }

  /** A topic outside the connection's admission token (its topic or topic family, §2): refused (and true). */
  private outOfScope(conn: Conn, topic: string, seq?: number): boolean {
    if (conn.scope === undefined || grantAdmits(conn.scope, topic)) return false;
    this.stats.drop('not_allowed');
    if (seq !== undefined) this.send(conn, encodeNack(seq, ErrorCode.notAllowed));
    else this.send(conn, encodeError(ErrorCode.notAllowed, topic, 'topic not allowed by admission token'));
    return true;
  }

  /** A publication of a topic this node serves (from any node, in stream order): to every live subscriber but its publisher. */
  private onPublication(topic: string, epoch: Uint8Array, p: Publication): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    let deliver: Buffer | undefined;
    for (const conn of state.subs) {
      if (conn.id === p.from) continue;
      const catchup = conn.pending.size > 0 ? conn.pending.get(topic) : undefined;
      if (catchup !== undefined) {
        catchup.held.push({ epoch, publication: p });
        if (catchup.held.length > MAX_HELD_PER_SUBSCRIBE) this.slowConsumer(conn);
        continue;
      }
      deliver ??= encodeDeliver(topic, epoch, p.offset, p.frame);
      this.deliver(conn, deliver);
    }
  }

  /** The engine logs the change itself (once per change, with the relay's logger); here it is /healthz's answer. */
  private onAvailability(available: boolean, reason: string): void {
    this.unavailable = available ? undefined : `${this.engine.kind} unavailable: ${reason}`;
  }

  /**
   * §3.4 Joins a topic: once the engine delivers the topic's publications to this node, the connection gets
   * SUBSCRIBED (the stream's epoch; RECOVERED when `since` could be honoured), then the history (everything
   * after `since`, or the recent window), then the live publications that arrived meanwhile, in order.
   */
  private onSubscribe(conn: Conn, topic: string, since: Position | undefined, now: number): void {
    if (!conn.subs.take(now)) return this.rateLimited(conn, topic, now);
    if (this.outOfScope(conn, topic)) return;
    // A SUBSCRIBE for a topic the connection has starts it again from `since` (a client that got no answer in
    // time sends it again, with its position): the earlier one, if still pending, is never answered.
    this.leave(conn, topic);
    if (conn.topics.size >= this.o.maxTopicsPerConnection) {
      return this.reject(conn, 'too_many_topics', ErrorCode.tooManyTopics, topic, 'too many topics');
    }
    conn.topics.add(topic);
    const catchup: Catchup = { held: [] };
    conn.pending.set(topic, catchup);
    let state = this.topics.get(topic);
    if (state === undefined) {
      const created: TopicState = { subs: new Set(), ready: undefined };
      state = created;
      this.topics.set(topic, created);
      created.ready = this.engine.subscribe(topic).then(
        () => void (created.ready = undefined),
        (e: unknown) => {
          // Every connection waiting on it is told ERROR 7 (below) and leaves; the next SUBSCRIBE tries again.
          if (this.topics.get(topic) === created) this.topics.delete(topic);
          throw e;
        },
      );
    }
    state.subs.add(conn);
    void Promise.resolve(state.ready)
      .then(() => (conn.pending.get(topic) === catchup ? this.engine.history(topic, since) : undefined))
      .then(
        (history) => this.guard(() => history !== undefined && this.caughtUp(conn, topic, catchup, history)),
        () =>
          this.guard(() => {
            // The engine cannot read the stream now: the client tries again (ERROR 7 on the topic).
            if (conn.pending.get(topic) !== catchup) return;
            conn.topics.delete(topic);
            conn.pending.delete(topic);
            const current = this.topics.get(topic);
            if (current?.subs.delete(conn) && current.subs.size === 0) {
              this.topics.delete(topic);
              this.engine.unsubscribe(topic);
            }
            this.send(conn, encodeError(ErrorCode.unavailable, topic, 'the relay cannot read this topic now'));
          }),
      );
  }

  /** SUBSCRIBED, the history, then what arrived while it was read (only what follows the history). */
  private caughtUp(conn: Conn, topic: string, catchup: Catchup, { epoch, recovered, publications, head }: History): void {
    if (conn.pending.get(topic) !== catchup) return; // unsubscribed (or closed) meanwhile
    conn.pending.delete(topic);
    if (!this.send(conn, encodeSubscribed(topic, epoch, head, recovered))) return;
    let last: Offset | undefined;
    for (const p of publications) {
      last = p.offset;
      if (p.from === conn.id) continue;
      if (!this.deliver(conn, encodeDeliver(topic, epoch, p.offset, p.frame))) return;
    }
    for (const { epoch: e, publication: p } of catchup.held) {
      if (last !== undefined && equalEpoch(e, epoch) && compareOffsets(p.offset, last) <= 0) continue; // in the history already
      if (!this.deliver(conn, encodeDeliver(topic, e, p.offset, p.frame))) return;
    }
  }

  private leave(conn: Conn, topic: string): void {
    if (!conn.topics.delete(topic)) return;
    conn.pending.delete(topic);
    const state = this.topics.get(topic);
    if (state === undefined) return;
    state.subs.delete(conn);
    if (state.subs.size === 0) {
      this.topics.delete(topic);
      this.engine.unsubscribe(topic);
    }
  }

  private deliver(conn: Conn, deliver: Buffer): boolean {
    if (!this.send(conn, deliver)) return false;
    this.stats.framesOut++;
    this.stats.bytesOut += deliver.length;
    return true;
  }

  /** Sends one message unless the connection is closing or is a slow consumer (then it is closed 4010). */
  private send(conn: Conn, message: Buffer): boolean {
    if (conn.closing || conn.ws.readyState !== 1) return false;
    if (conn.ws.bufferedAmount > this.o.maxBufferedBytes) {
      this.slowConsumer(conn);
      return false;
    }
    conn.ws.send(message);
    return true;
  }

  private slowConsumer(conn: Conn): void {
    this.stats.drop('slow_consumer');
    this.closeConn(conn, CloseCode.slowConsumer, 'slow consumer');
  }

  private reject(conn: Conn, reason: DropReason, code: number, topic: string, text: string): void {
    this.stats.drop(reason);
    this.send(conn, encodeError(code, isTopic(topic) ? topic : '', text));
  }

  /** A message over the connection's rate: dropped (a PUBLISH with NACK 2, `seq`); a flood closes it 4008. */
  private rateLimited(conn: Conn, topic: string, now: number, seq?: number): void {
    this.stats.drop('rate_limited');
    if (now - conn.windowStart > this.o.floodWindowMs) {
      conn.windowStart = now;
      conn.windowDrops = 0;
    }
    conn.windowDrops++;
    if (conn.windowDrops > this.o.floodDrops) return this.closeConn(conn, CloseCode.flood, 'rate limit exceeded');
    if (seq !== undefined) this.send(conn, encodeNack(seq, ErrorCode.rateLimited)); // the client must know what to send again
    else if (conn.windowDrops <= MAX_RATE_ERRORS_PER_WINDOW) {
      this.send(conn, encodeError(ErrorCode.rateLimited, isTopic(topic) ? topic : '', 'rate limited'));
    }
  }

  /** Runs a handler; an exception is logged, never thrown into ws or the event loop. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.o.logger('error', 'handler failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function equalEpoch(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
