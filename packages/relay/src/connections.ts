/**
 * Connection handling (PROTOCOL-RELAY.md §1, §4, §5): the WebSocket upgrade and admission (subprotocol, Origin,
 * admission token, connection limits in all and per address), each admitted connection's lifecycle (heartbeat,
 * relay-initiated close, release), its rate limits and flood rule, and the slow-consumer rule on sending. What a
 * connection's messages mean is routing.ts's business.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { PublishAcks } from './acks.js';
import { RelayError } from './errors.js';
import type { DropReason, Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { CloseCode, ErrorCode, MAX_OVERHEAD_BYTES, SUBPROTOCOL, encodeError, encodeLimits, encodeNack, isTopic } from './protocol.js';
import { TokenBucket } from './rate-limit.js';
import type { Catchup } from './routing.js';
import { grantAdmits, verifyAdmissionToken, type AdmissionGrant } from './token.js';
import { CLOSE_GRACE_MS, MAX_CLOSE_DRAIN_MS, afterProtocolError, closeWebSocket, onCloseFrame } from './socket-close.js';
import { wsErrorCloseCode } from './ws-errors.js';

/** The subprotocol of version 1, refused with 4002. */
const SUBPROTOCOL_V1 = 'sealsig-relay.1';
/** Sockets being refused (closed right after the upgrade) at once; beyond this, upgrades are dropped raw. */
const MAX_REFUSING = 1_024;
/** ERROR 2 replies per connection per flood window (the rest of the drops are silent). */
const MAX_RATE_ERRORS_PER_WINDOW = 10;

/** One admitted connection: its socket and limits (here), its topics and PUBLISH count (routing.ts). */
export interface Conn {
  id: number;
  ws: WebSocket;
  ip: string;
  /** What the admission token allows (one topic, or a topic family), or undefined (no admission configured). */
  scope: AdmissionGrant | undefined;
  /** Subscribed topics (routing.ts). */
  topics: Set<string>;
  /** Topics whose SUBSCRIBED is not sent yet (engine subscription, history): live publications are held. */
  pending: Map<string, Catchup>;
  /** §3.1 PUBLISH sequence numbers and §3.2 ACKs. */
  acks: PublishAcks;
  /** routing.ts: settles the connection's oldest PUBLISH the engine holds (made once, on its first store()). */
  settle: ((error: unknown) => void) | undefined;
  frames: TokenBucket;
  subs: TokenBucket;
  windowStart: number;
  windowDrops: number;
  alive: boolean;
  /** The relay or the client began to close it (or ws refused a frame): no more messages, sends or deliveries. */
  closing: boolean;
}

/** What connection handling needs from the relay around it. */
export interface ConnectionsContext {
  o: ResolvedOptions;
  stats: Metrics;
  /** 'listening': admit; 'draining': answer the upgrade, then close 1012; otherwise drop the upgrade. */
  state(): 'new' | 'listening' | 'draining' | 'closed';
  /** A message from an admitted connection (routing.ts). */
  message(conn: Conn, data: RawData, isBinary: boolean): void;
  /** Removes a connection from every topic (routing.ts; idempotent). */
  detach(conn: Conn): void;
  /** Runs a handler; an exception is logged, never thrown into ws or the event loop. */
  guard(fn: () => void): void;
}

export class Connections {
  /** Admitted connections whose socket is not closed yet (the connection limits count these). */
  readonly all = new Set<Conn>();
  /** Those of them not closing: neither side has begun to close (the open-connections gauge). */
  open = 0;
  private readonly perIp = new Map<string, number>();
  private readonly wss: WebSocketServer;
  private nextId = 1;
  private refusing = 0;
  /** §3.5 The LIMITS message every admitted connection gets first (the options do not change while running). */
  private readonly limits: Buffer;

  constructor(private readonly c: ConnectionsContext) {
    this.limits = encodeLimits({ publish: c.o.frames, subscribe: c.o.subscriptions, maxFrameBytes: c.o.maxFrameBytes });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: c.o.maxFrameBytes + MAX_OVERHEAD_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      // A version 1 client is answered in its own subprotocol so that it sees the 4002 close (§1) rather than a
      // failed handshake; it is closed right after the upgrade.
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : protocols.has(SUBPROTOCOL_V1) ? SUBPROTOCOL_V1 : false),
    });
  }

  /** The HTTP server's 'upgrade' event. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const state = this.c.state();
    if (this.refusing >= MAX_REFUSING || (state !== 'listening' && state !== 'draining')) {
      socket.destroy();
      return;
    }
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.c.guard(() => this.admit(ws, req)));
    } catch (e) {
      this.c.o.logger('warn', 'upgrade failed', { error: String(e) });
      socket.destroy();
    }
  }

  /** The client's address: the socket's, or the last X-Forwarded-For entry with trustProxy. */
  clientIp(req: IncomingMessage): string {
    if (this.c.o.trustProxy) {
      const xff = req.headers['x-forwarded-for'];
      const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').pop()?.trim();
      if (last !== undefined && last !== '' && last.length <= 64) return last;
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  /** §1, §2, §4 Admits an upgraded socket, or closes it with the code that says why not. */
  private admit(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', () => {});
    const o = this.c.o;
    if (this.c.state() !== 'listening') return this.refuse(ws, CloseCode.serviceRestart, 'service restart');
    if (ws.protocol !== SUBPROTOCOL) return this.refuse(ws, CloseCode.version, `offer the subprotocol ${SUBPROTOCOL}`);
    const origin = req.headers.origin;
    if (o.allowedOrigins !== undefined && origin !== undefined && !o.allowedOrigins.has(origin)) {
      return this.refuse(ws, CloseCode.policyViolation, 'origin not allowed');
    }
    let scope: AdmissionGrant | undefined;
    if (o.admissionKey !== undefined) {
      const token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
      if (token === null) return this.refuse(ws, CloseCode.badToken, 'admission token missing');
      try {
        scope = verifyAdmissionToken(token, o.admissionKey);
      } catch (e) {
        const expired = e instanceof RelayError && e.code === 'E_TOKEN_EXPIRED';
        return this.refuse(ws, CloseCode.badToken, expired ? 'admission token expired' : 'admission token invalid');
      }
    }
    const ip = this.clientIp(req);
    if (this.all.size >= o.maxConnections) return this.refuse(ws, CloseCode.tryAgainLater, 'too many connections');
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= o.maxConnectionsPerIp) return this.refuse(ws, CloseCode.tryAgainLater, 'too many connections from this address');
    this.perIp.set(ip, fromIp + 1);
    const now = performance.now();
    const conn: Conn = {
      id: this.nextId++,
      ws,
      ip,
      scope,
      topics: new Set(),
      pending: new Map(),
      acks: new PublishAcks((message) => this.send(conn, message)),
      settle: undefined,
      frames: new TokenBucket(o.frames, now),
      subs: new TokenBucket(o.subscriptions, now),
      windowStart: now,
      windowDrops: 0,
      alive: true,
      closing: false,
    };
    this.all.add(conn);
    this.open++;
    ws.on('message', (data: RawData, isBinary: boolean) => this.c.guard(() => (conn.closing ? undefined : this.c.message(conn, data, isBinary))));
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('error', (e: Error & { code?: string }) => {
      // ws closes the socket itself after a protocol error; count the code it sends (1002, 1007, 1009...).
      const code = wsErrorCloseCode(e);
      if (code === CloseCode.messageTooBig) this.c.stats.drop('frame_too_large');
      if (this.end(conn)) this.c.stats.close(code);
      afterProtocolError(ws, code);
    });
    // The client's close frame: by the time the client sees the close complete, the relay has answered it.
    onCloseFrame(ws, () => this.c.guard(() => this.end(conn)));
    ws.on('close', () => this.c.guard(() => this.forget(conn)));
    this.send(conn, this.limits); // §3.5: the connection's first message
  }

  /** Closes a socket that was never admitted. */
  private refuse(ws: WebSocket, code: number, reason: string): void {
    this.c.stats.close(code);
    this.refusing++;
    ws.once('close', () => this.refusing--);
    closeWebSocket(ws, code, reason, CLOSE_GRACE_MS);
  }

  /** Relay-initiated close of an admitted connection; it leaves its topics at once. */
  close(conn: Conn, code: number, reason: string): void {
    if (!this.end(conn)) return;
    this.c.stats.close(code);
    closeWebSocket(conn.ws, code, reason, MAX_CLOSE_DRAIN_MS);
  }

  /**
   * The connection stops being open (closed by the relay or the client, refused by ws, or gone): it leaves its
   * topics and the open-connections gauge at once. False if it had already.
   */
  private end(conn: Conn): boolean {
    if (conn.closing) return false;
    conn.closing = true;
    this.open--;
    conn.acks.stop();
    this.c.detach(conn);
    return true;
  }

  /** The socket is gone: release everything it held. */
  private forget(conn: Conn): void {
    this.end(conn);
    if (!this.all.delete(conn)) return;
    const n = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.ip);
    else this.perIp.set(conn.ip, n);
  }

  /** §5 Heartbeat: pings every connection; one that did not answer the previous ping is terminated. */
  beat(): void {
    for (const conn of this.all) {
      if (conn.closing) continue;
      if (!conn.alive) {
        // A missed pong: the peer is gone or hung; no close handshake is attempted.
        if (this.end(conn)) this.c.stats.close(CloseCode.goingAway);
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /** Stops accepting upgrades (the HTTP server closes the sockets). */
  stop(): void {
    this.wss.close();
  }

  /** Sends one message unless the connection is closing or is a slow consumer (then it is closed 4010). */
  send(conn: Conn, message: Buffer): boolean {
    if (conn.closing || conn.ws.readyState !== 1) return false;
    if (conn.ws.bufferedAmount > this.c.o.maxBufferedBytes) {
      this.slowConsumer(conn);
      return false;
    }
    conn.ws.send(message);
    return true;
  }

  /** §4 A subscriber that does not keep up: closed 4010 (it resumes from its position). */
  slowConsumer(conn: Conn): void {
    this.c.stats.drop('slow_consumer');
    this.close(conn, CloseCode.slowConsumer, 'slow consumer');
  }

  /** §3.3 A refused message: counted, and an ERROR to the client. */
  reject(conn: Conn, reason: DropReason, code: number, topic: string, text: string): void {
    this.c.stats.drop(reason);
    this.send(conn, encodeError(code, isTopic(topic) ? topic : '', text));
  }

  /** §2 A topic outside the connection's admission token (its topic or topic family): refused (and true). */
  outOfScope(conn: Conn, topic: string, seq?: number): boolean {
    if (conn.scope === undefined || grantAdmits(conn.scope, topic)) return false;
    this.c.stats.drop('not_allowed');
    if (seq !== undefined) this.send(conn, encodeNack(seq, ErrorCode.notAllowed));
    else this.send(conn, encodeError(ErrorCode.notAllowed, topic, 'topic not allowed by admission token'));
    return true;
  }

  /** §4 A message over the connection's rate: dropped (a PUBLISH with NACK 2, `seq`); a flood closes it 4008. */
  rateLimited(conn: Conn, topic: string, now: number, seq?: number): void {
    this.c.stats.drop('rate_limited');
    if (now - conn.windowStart > this.c.o.floodWindowMs) {
      conn.windowStart = now;
      conn.windowDrops = 0;
    }
    conn.windowDrops++;
    if (conn.windowDrops > this.c.o.floodDrops) return this.close(conn, CloseCode.flood, 'rate limit exceeded');
    if (seq !== undefined) this.send(conn, encodeNack(seq, ErrorCode.rateLimited)); // the client must know what to send again
    else if (conn.windowDrops <= MAX_RATE_ERRORS_PER_WINDOW) {
      this.send(conn, encodeError(ErrorCode.rateLimited, isTopic(topic) ? topic : '', 'rate limited'));
    }
  }
}
