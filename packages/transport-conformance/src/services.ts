/**
 * Real services for adapter tests (redis-server, nats-server, mosquitto, from Debian's packages): each
 * started on a free 127.0.0.1 port, awaited until it accepts connections, and stopped by stop(). Spawned
 * processes are also killed when the test process exits, so a failing test leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './helpers.js';

/** A service process started for a test (redis-server, nats-server, mosquitto). */
export interface Service {
  /** The TCP port it listens on (127.0.0.1). */
  port: number;
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

/** A TCP port that is free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on the port; rejects if \`child\` exits first or after timeoutMs. */
export async function waitForPort(port: number, child?: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(30);
  }
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Spawns a service and waits until it accepts connections on `port`; killed with the test process. */
export async function spawnService(command: string, args: string[], port: number, cleanup?: () => void): Promise<Service & { kill(signal: NodeJS.Signals): Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    children.delete(child);
    cleanup?.();
  };
  try {
    await waitForPort(port, child);
  } catch (e) {
    await stop();
    throw new Error(`${command} did not start: ${(e as Error).message}\n${stderr}`);
  }
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
    children.delete(child);
  };
  return { port, stop, kill };
}

/** Options of startRedis(). */
export interface RedisServiceOptions {
  /**
   * Persist to an append-only file (fsync on every write) in `dir`. Default false: no persistence at all.
   * stop() is a graceful shutdown (SIGTERM), so what was written survives a restart on the same `dir`.
   */
  appendonly?: boolean;
  /** Working directory (the AOF lives here). Default: redis-server's current directory; the caller owns `dir`. */
  dir?: string;
}

/** redis-server (without persistence unless `options.appendonly`); `url` is its redis:// address. */
export async function startRedis(port?: number, options: RedisServiceOptions = {}): Promise<Service & {
  /** The redis:// URL of the server. */
  url: string;
}> {
  const p = port ?? (await freePort());
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', ''];
  if (options.appendonly === true) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  if (options.dir !== undefined) args.push('--dir', options.dir);
  const service = await spawnService('redis-server', args, p);
  return { ...service, url: `redis://127.0.0.1:${p}` };
}

/** nats-server on the port (default: a free one). */
export async function startNats(port?: number): Promise<Service> {
  const p = port ?? (await freePort());
  return spawnService('nats-server', ['-a', '127.0.0.1', '-p', String(p)], p);
}

/** mosquitto on the port (default: a free one), with extra configuration lines. */
export async function startMosquitto(port?: number, extraConfig: string[] = []): Promise<Service> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'sealsig-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${p} 127.0.0.1\nallow_anonymous true\npersistence false\n${extraConfig.join('\n')}\n`);
  const binary = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((b) => existsSync(b));
  return spawnService(binary ?? 'mosquitto', ['-c', config], p, () => rmSync(dir, { recursive: true, force: true }));
}
