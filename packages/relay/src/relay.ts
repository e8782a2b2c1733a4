/**
 * The relay (PROTOCOL-RELAY.md): routes opaque frames between WebSocket connections by topic, with
 * admission tokens, rate limits, backpressure and metrics. This file puts it together: the engine (engine.ts:
 * memory, or Redis with `redis`), connection handling (connections.ts), routing (routing.ts) and the HTTP
 * endpoints, and runs its lifecycle: listen, then the graceful close (§5). Every handler is wrapped: one bad
 * client can close its own connection, never the relay.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Connections } from './connections.js';
import { IpLimiter, serveDescriptors, type DescriptorEndpointContext } from './descriptor-endpoint.js';
import { DescriptorTable } from './descriptors.js';
import type { Engine } from './engine.js';
import { RelayError } from './errors.js';
import { MemoryEngine } from './memory-engine.js';
import { createRedisEngine } from './redis-engine.js';
import { RedisDescriptorTable } from './redis-descriptors.js';
import { Metrics, type Gauges, type MetricsSnapshot } from './metrics.js';
import { resolveOptions, type RelayOptions, type ResolvedOptions } from './options.js';
import { CloseCode } from './protocol.js';
import { Router } from './routing.js';
import { sodiumReady } from './sodium.js';
import { serveStatic } from './static-files.js';
import { serveTurn, type TurnEndpointContext } from './turn-endpoint.js';

/** How often expired room descriptors are dropped. */
const DESCRIPTOR_SWEEP_MS = 60_000;
/** How often the memory engine drops frames past their age. */
const SWEEP_MS = 5_000;

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
  private readonly conns: Connections;
  private readonly router: Router;
  private readonly engine: Engine;
  private readonly stats = new Metrics();
  private readonly descriptors: DescriptorEndpointContext;
  private readonly turn: TurnEndpointContext;
  /** Why the engine cannot store frames (Redis unreachable), or undefined while it can. */
  private unavailable: string | undefined;
  private state: 'new' | 'listening' | 'draining' | 'closed' = 'new';
  private bound: { port: number; host: string } | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private descriptorSweeper: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(o: ResolvedOptions) {
    this.o = o;
    this.engine = o.redis !== undefined ? createRedisEngine({ ...o.redis, logger: o.logger }) : new MemoryEngine(o.retention);
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
    this.conns = new Connections({
      o,
      stats: this.stats,
      state: () => this.state,
      message: (conn, data, isBinary) => this.router.message(conn, data, isBinary),
      detach: (conn) => this.router.detach(conn),
      guard: (fn) => this.guard(fn),
    });
    this.router = new Router({
      o,
      stats: this.stats,
      conns: this.conns,
      engine: this.engine,
      memory: this.engine instanceof MemoryEngine ? this.engine : undefined,
      refusing: () => (this.state !== 'listening' ? 'draining' : this.unavailable),
      guard: (fn) => this.guard(fn),
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.conns.onUpgrade(req, socket, head));
    this.server.on('clientError', (_e, socket: Duplex) => socket.destroy());
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
      publication: (topic, epoch, p) => this.guard(() => this.router.publication(topic, epoch, p)),
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
    this.bound = { host: a.address, port: a.port };
    if (this.o.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.guard(() => this.conns.beat()), this.o.heartbeatMs);
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
      connections: this.conns.open,
      topics: this.router.topics.size,
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
      const conns = this.conns.all;
      this.o.logger('info', 'draining', { connections: conns.size });
      if (this.o.drainDelayMs > 0) await sleep(this.o.drainDelayMs);
      const settled = Date.now() + this.o.drainTimeoutMs;
      while ([...conns].some((c) => c.acks.storingAny) && Date.now() < settled) await sleep(5);
      for (const conn of conns) conn.acks.flush();
      for (const conn of conns) this.conns.close(conn, CloseCode.serviceRestart, 'service restart');
      const deadline = Date.now() + this.o.drainTimeoutMs;
      while (conns.size > 0 && Date.now() < deadline) await sleep(20);
      for (const conn of conns) conn.ws.terminate();
    }
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
    clearInterval(this.descriptorSweeper);
    await this.descriptors.table?.close();
    this.conns.stop();
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    for (const conn of this.conns.all) conn.acks.stop();
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
    if (path === '/turn') return serveTurn(this.turn, req, res, this.conns.clientIp(req));
    if (path === '/descriptors' || path?.startsWith('/descriptors/')) return serveDescriptors(this.descriptors, req, res, this.conns.clientIp(req));
    if (this.o.staticDir !== undefined && (await serveStatic(this.o.staticDir, req, res))) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found');
  }

  /** The engine logs the change itself (once per change, with the relay's logger); here it is /healthz's answer. */
  private onAvailability(available: boolean, reason: string): void {
    this.unavailable = available ? undefined : `${this.engine.kind} unavailable: ${reason}`;
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
