/**
 * Test helpers: a relay from @sealsig/relay on 127.0.0.1 (port 0 unless given), a WebSocket constructor
 * that records the sockets it made (to break them like a network failure would, and to count open ones),
 * a real redis-server on a free port (the shared spawner), and small waiting utilities. Nothing here is a fake.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from '@sealsig/transport-conformance';
import { createRelay, type RelayOptions } from '@sealsig/relay';
import { resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from '../src/socket.js';

export type Relay = ReturnType<typeof createRelay>;

export interface RunningRelay {
  relay: Relay;
  port: number;
  url: string;
}

/** Starts a relay on 127.0.0.1; `port` 0 (default) picks a free one. */
export async function startRelay(options: RelayOptions = {}, port = 0): Promise<RunningRelay> {
  const relay = createRelay({ host: '127.0.0.1', port, drainTimeoutMs: 200, ...options });
  const address = await relay.listen();
  return { relay, port: address.port, url: `ws://127.0.0.1:${address.port}/` };
}

/** A WebSocket constructor (the `ws` package) that keeps every socket it created. */
export async function trackingWebSocket(): Promise<{ WebSocket: WebSocketConstructor; sockets: Set<WebSocketLike> }> {
  const { WebSocket: Base } = await resolveWebSocket(undefined);
  const sockets = new Set<WebSocketLike>();
  function Tracked(url: string, protocols?: string | string[]): WebSocketLike {
    const socket = new Base(url, protocols);
    sockets.add(socket);
    return socket;
  }
  return { WebSocket: Tracked as unknown as WebSocketConstructor, sockets };
}

/**
 * A WebSocket constructor (the `ws` package) that never hands the transport a LIMITS message (PROTOCOL-RELAY.md
 * §3.5): the relay seen through it is one older than LIMITS, with whatever limits it was started with.
 */
export async function withoutLimits(): Promise<WebSocketConstructor> {
  const { WebSocket: Base } = await resolveWebSocket(undefined);
  const proto = Object.getOwnPropertyDescriptor(Base.prototype, 'onmessage')!;
  function Older(url: string, protocols?: string | string[]): WebSocketLike {
    const socket = new Base(url, protocols);
    Object.defineProperty(socket, 'onmessage', {
      get: () => proto.get!.call(socket),
      set: (handler: ((event: { data: unknown }) => void) | null) =>
        proto.set!.call(socket, handler && ((event: { data: unknown }) => (new Uint8Array(event.data as ArrayBuffer)[0] === 0x15 ? undefined : handler(event)))),
    });
    return socket;
  }
  return Older as unknown as WebSocketConstructor;
}

/** Drops a socket without a closing handshake, as a dead network would (`ws` terminate()). */
export function terminate(socket: WebSocketLike): void {
  (socket as unknown as { terminate(): void }).terminate();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export { freePort, startRedis } from '@sealsig/transport-conformance';

// ---- real processes for the fault tests (faults.test.ts) ---------------------------------------------------


const RELAY_PKG = fileURLToPath(new URL('../../relay/', import.meta.url));
/** Every process spawned below, killed when the test process exits (a failing test leaves nothing behind). */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface Proc {
  child: ChildProcess;
  port: number;
  /** The last 64 KiB of its stderr (and stdout). */
  output(): string;
  /** Resolves once the process has exited (at once if it has). */
  exited: Promise<void>;
  /** Sends `signal` (SIGKILL by default) and waits for the exit; a no-op on an exited process. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function track(child: ChildProcess, port: number): Proc {
  spawned.add(child);
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-65_536));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (spawned.delete(child), resolve())));
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return { child, port, output: () => out, exited, kill };
}

/**
 * The `sealsig-relay` CLI as a real process (tsx on packages/relay/src/cli.ts, as cli.test.ts runs it) on
 * 127.0.0.1:`port`; resolves once it printed its "listening" line. `url` is its ws:// address.
 */
export async function spawnRelayCli(port: number, args: string[] = [], timeoutMs = 30_000): Promise<Proc & { url: string }> {
  const child = spawnChild(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', String(port), ...args], {
    cwd: RELAY_PKG,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child, port);
  const deadline = Date.now() + timeoutMs;
  while (!proc.output().includes('"event":"listening"')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`relay on ${port} exited (${child.exitCode ?? child.signalCode}):\n${proc.output()}`);
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`relay on ${port} did not start:\n${proc.output()}`);
    }
    await sleep(20);
  }
  return { ...proc, url: `ws://127.0.0.1:${port}/` };
}

/**
 * redis-server as a real process on `port` whose pid the test holds (kill -9 needs it; startRedis() only
 * stops gracefully). Same flags as startRedis: no RDB snapshots; appendonly with fsync always when asked.
 */
export async function spawnRedisServer(port: number, options: { appendonly?: boolean; dir?: string } = {}): Promise<Proc & { url: string }> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  if (options.appendonly === true) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  if (options.dir !== undefined) args.push('--dir', options.dir);
  const child = spawnChild('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child, port);
  try {
    await waitForPort(port, child, 15_000);
  } catch (e) {
    await proc.kill();
    throw new Error(`redis-server did not start: ${(e as Error).message}\n${proc.output()}`);
  }
  return { ...proc, url: `redis://127.0.0.1:${port}` };
}

/** Distinct free ports (freePort() twice in a row may give the same one back). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** GET /healthz: status and body, or undefined when nothing answers. */
export async function healthz(port: number): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** One sample of the relay's /metrics (e.g. `sealsig_relay_drops_total{reason="unavailable"}`), 0 when absent. */
export async function metric(port: number, sample: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
