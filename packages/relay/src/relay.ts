/**
 * The relay (PROTOCOL-RELAY.md): routes opaque frames between WebSocket connections by topic, with
 * admission tokens, rate limits, backpressure, retention, metrics and optional Redis fan-out. It never
 * decodes a frame. Every handler is wrapped: one bad client can close its own connection, never the relay.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { IpLimiter, serveDescriptors, type DescriptorEndpointContext } from './descriptor-endpoint.js';
import { DescriptorTable } from './descriptors.js';
import { RelayError } from './errors.js';
import { Metrics, type DropReason, type Gauges, type MetricsSnapshot } from './metrics.js';
import { resolveOptions, type RelayOptions, type ResolvedOptions } from './options.js';
import {
  CloseCode,
  ErrorCode,
  MAX_OVERHEAD_BYTES,
  Op,
  SUBPROTOCOL,
  decodeInbound,
  encodeError,
  encodeFrameMessage,
  encodeTopicMessage,
  isTopic,
} from './protocol.js';
import { TokenBucket } from './rate-limit.js';
import { RedisBus } from './redis-bus.js';
import { RetentionStore } from './retention.js';
import { sodiumReady } from './sodium.js';
import { serveStatic } from './static-files.js';
import { grantAdmits, verifyAdmissionToken, type AdmissionGrant } from './token.js';
import { serveTurn, type TurnEndpointContext } from './turn-endpoint.js';
import { wsErrorCloseCode } from './ws-errors.js';

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

/** Local subscribers of one topic; `ready` until the Redis subscription (if any) is confirmed, then undefined. */
interface TopicState {
  subs: Set<Conn>;
  ready: Promise<void> | undefined;
}

interface Conn {
  id: number;
  ws: WebSocket;
  ip: string;
  topics: Set<string>;
  /** Topics whose SUBSCRIBED is not sent yet (waiting for the Redis subscription); nothing is delivered on them. */
  pending: Set<string>;
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

export interface Relay {
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ port: number; host: string }>;
  /** Graceful shutdown: /healthz 503, clients closed with 1012, drained, every resource released. Idempotent. */
  close(): Promise<void>;
  /** The bound address, once listening. */
  readonly address: { port: number; host: string } | undefined;
  /** Counters and gauges (the same figures /metrics serves). */
  metrics(): MetricsSnapshot;
  /** /metrics as Prometheus text. */
  metricsText(): string;
}

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
  private readonly retention: RetentionStore;
  private readonly stats = new Metrics();
  private readonly descriptors: DescriptorEndpointContext;
  private readonly turn: TurnEndpointContext;
  private bus: RedisBus | undefined;
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
    this.retention = new RetentionStore(o.retention);
    const d = o.descriptors;
    this.descriptors = {
      table: d === undefined ? undefined : new DescriptorTable(d),
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
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
  }

  get address(): { port: number; host: string } | undefined {
    return this.bound;
  }

  async listen(): Promise<{ port: number; host: string }> {
    if (this.state !== 'new') throw new RelayError('E_STATE', 'listen() may be called once, before close()');
    this.state = 'listening';
    if (this.o.admissionKey !== undefined || this.descriptors.table !== undefined) await sodiumReady();
    if (this.o.redisUrl !== undefined) {
      this.bus = new RedisBus({
        url: this.o.redisUrl,
        onFrame: (topic, frame) => this.guard(() => this.onRemoteFrame(topic, frame)),
        onError: (e) => this.o.logger('warn', 'redis error', { error: e.message }),
      });
      await this.bus.connect();
    }
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
    if (this.retention.enabled) {
      this.sweeper = setInterval(() => this.retention.sweep(performance.now()), Math.max(1_000, this.retention.maxAgeMs));
      this.sweeper.unref();
    }
    const table = this.descriptors.table;
    if (table !== undefined) {
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
      retainedBytes: this.retention.bytes,
      descriptors: this.descriptors.table?.size ?? 0,
      descriptorBytes: this.descriptors.table?.bytes ?? 0,
    };
  }

  // ---- shutdown ----------------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    const wasListening = this.state === 'listening';
    this.state = 'draining';
    if (wasListening) {
      this.o.logger('info', 'draining', { connections: this.conns.size });
      if (this.o.drainDelayMs > 0) await sleep(this.o.drainDelayMs);
      for (const conn of this.conns) this.closeConn(conn, CloseCode.serviceRestart, 'service restart');
      const deadline = Date.now() + this.o.drainTimeoutMs;
      while (this.conns.size > 0 && Date.now() < deadline) await sleep(20);
      for (const conn of this.conns) conn.ws.terminate();
    }
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
    clearInterval(this.descriptorSweeper);
    this.descriptors.table?.clear();
    this.wss.close();
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.bus?.close();
    this.retention.clear();
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
      const ok = this.state === 'listening';
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(ok ? 'ok' : 'draining');
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
      pending: new Set(),
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
    switch (m.kind) {
      case 'publish':
        return this.onPublish(conn, msg, m.topic, m.frameStart, m.frameBytes, now);
      case 'subscribe':
        return this.onSubscribe(conn, m.topic, now);
      case 'unsubscribe':
        if (!conn.subs.take(now)) return this.rateLimited(conn, m.topic, now);
        return this.leave(conn, m.topic);
      case 'error':
        if (!conn.frames.take(now)) return this.rateLimited(conn, '', now);
        return this.reject(conn, m.code === ErrorCode.badTopic ? 'bad_topic' : 'malformed', m.code, m.topic, m.reason);
    }
  }

  private onPublish(conn: Conn, msg: Buffer, topic: string, frameStart: number, frameBytes: number, now: number): void {
    if (!conn.frames.take(now)) return this.rateLimited(conn, topic, now);
    if (this.outOfScope(conn, topic)) return;
    if (frameBytes > this.o.maxFrameBytes) return this.reject(conn, 'frame_too_large', ErrorCode.frameTooLarge, topic, 'frame too large');
    this.stats.framesIn++;
    this.stats.bytesIn += msg.length;
    // A DELIVER is the PUBLISH with another opcode: copy once, patch byte 0, send the same bytes to all.
    const deliver = Buffer.from(msg);
    deliver[0] = Op.deliver;
    this.retention.add(topic, deliver, conn.id, now);
    this.fanOut(topic, deliver, conn.id);
    this.bus?.publish(topic, msg.subarray(frameStart));
  }

  /** A topic outside the connection's admission token (its topic or topic family, §2): refused (and true). */
  private outOfScope(conn: Conn, topic: string): boolean {
    if (conn.scope === undefined || grantAdmits(conn.scope, topic)) return false;
    this.reject(conn, 'not_allowed', ErrorCode.notAllowed, topic, 'topic not allowed by admission token');
    return true;
  }

  private onRemoteFrame(topic: string, frame: Buffer): void {
    if (!isTopic(topic) || frame.length === 0 || frame.length > this.o.maxFrameBytes) return;
    const deliver = encodeFrameMessage(Op.deliver, topic, frame);
    this.retention.add(topic, deliver, 0, performance.now());
    this.fanOut(topic, deliver, 0);
  }

  /**
   * Joins a topic. With Redis, SUBSCRIBED (and the retained frames) wait until the node's Redis subscription
   * is confirmed, so "SUBSCRIBED" means frames from every node now reach this connection.
   */
  private onSubscribe(conn: Conn, topic: string, now: number): void {
    if (!conn.subs.take(now)) return this.rateLimited(conn, topic, now);
    if (this.outOfScope(conn, topic)) return;
    if (conn.topics.has(topic)) {
      if (!conn.pending.has(topic)) this.send(conn, encodeTopicMessage(Op.subscribed, topic));
      return;
    }
    if (conn.topics.size >= this.o.maxTopicsPerConnection) {
      return this.reject(conn, 'too_many_topics', ErrorCode.tooManyTopics, topic, 'too many topics');
    }
    conn.topics.add(topic);
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { subs: new Set(), ready: undefined };
      this.topics.set(topic, state);
      if (this.bus !== undefined) {
        const created = state;
        created.ready = this.bus.subscribe(topic).then(() => {
          created.ready = undefined;
        });
      }
    }
    state.subs.add(conn);
    const ready = state.ready;
    if (ready === undefined) return this.acknowledge(conn, topic);
    conn.pending.add(topic);
    ready.then(() =>
      this.guard(() => {
        if (conn.pending.delete(topic) && conn.topics.has(topic)) this.acknowledge(conn, topic);
      }),
    );
  }

  /** SUBSCRIBED, then the retained frames (PROTOCOL-RELAY.md §3.1). */
  private acknowledge(conn: Conn, topic: string): void {
    if (!this.send(conn, encodeTopicMessage(Op.subscribed, topic))) return;
    for (const r of this.retention.recent(topic, performance.now())) {
      if (r.from === conn.id) continue;
      if (!this.deliver(conn, r.message)) return;
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
      this.bus?.unsubscribe(topic);
    }
  }

  private fanOut(topic: string, deliver: Buffer, from: number): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    for (const conn of state.subs) {
      if (conn.id === from || (conn.pending.size > 0 && conn.pending.has(topic))) continue;
      this.deliver(conn, deliver);
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
      this.stats.drop('slow_consumer');
      this.closeConn(conn, CloseCode.slowConsumer, 'slow consumer');
      return false;
    }
    conn.ws.send(message);
    return true;
  }

  private reject(conn: Conn, reason: DropReason, code: number, topic: string, text: string): void {
    this.stats.drop(reason);
    this.send(conn, encodeError(code, isTopic(topic) ? topic : '', text));
  }

  private rateLimited(conn: Conn, topic: string, now: number): void {
    this.stats.drop('rate_limited');
    if (now - conn.windowStart > this.o.floodWindowMs) {
      conn.windowStart = now;
      conn.windowDrops = 0;
    }
    conn.windowDrops++;
    if (conn.windowDrops > this.o.floodDrops) return this.closeConn(conn, CloseCode.flood, 'rate limit exceeded');
    if (conn.windowDrops <= MAX_RATE_ERRORS_PER_WINDOW) {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
