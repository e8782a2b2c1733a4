/**
 * The relay's container image and compose file (deploy/Dockerfile, deploy/compose.yaml; README.md "Running in
 * containers"), built and run with podman: two relay nodes and Redis (appendonly), /healthz and the image's
 * HEALTHCHECK, frames carried from one node to the other through Redis, and a node stopped with SIGTERM while a
 * client publishes through it: it drains (close 1012, exit 0) and no frame is lost.
 *
 * No image registry is reachable here, so the image is built on a base made from this machine's own files: a
 * root filesystem with its Node binary, /bin/sh and redis-server and the libraries they link (ldd), imported
 * with `podman import` and passed as the Dockerfile's BASE (whose default is the official node image). Redis
 * runs from that same base image: the host's redis-server binary. The build context is the relay's bundle from
 * `pnpm deploy --offline` (no registry either). Skipped, with a message, when podman or podman-compose is not
 * installed (.ci/run installs them).
 */
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createAdmissionToken } from '../src/index.js';
import { SUBPROTOCOL, decodeOutbound, encodePublish } from '../src/protocol.js';
import { connect, waitFor, type TestClient } from './helpers.js';

const run = promisify(execFile);
const PKG = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(PKG, '..', '..');
const DEPLOY = join(PKG, 'deploy');
const TOPIC = 'containertopic';
const SECRET = 'a-container-test-secret-32-bytes';
/** The default runtime, crun, fails on this kernel's hybrid cgroups; runc works. */
const PODMAN = ['--runtime', 'runc'];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['podman', 'podman-compose'].filter((c) => !has(c));
if (missing.length > 0) console.warn(`relay container test skipped: ${missing.join(' and ')} not installed (apt-get install podman runc podman-compose; .ci/run does)`);

const id = `${process.pid}${Date.now() % 100_000}`;
const project = `sealsigtest${id}`;
const baseImage = `localhost/sealsig-relay-test-base:${id}`;
const relayImage = `localhost/sealsig-relay:test-${id}`;
let work: string;
let ports: { a: number; b: number };
let composeEnv: NodeJS.ProcessEnv;

async function podman(...args: string[]): Promise<string> {
  return (await run('podman', [...PODMAN, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

async function compose(...args: string[]): Promise<string> {
  const common = ['--podman-args', PODMAN.join(' '), '--podman-run-args', ULIMITS.join(' '), '-p', project, '-f', join(DEPLOY, 'compose.yaml')];
  return (await run('podman-compose', [...common, ...args], { env: composeEnv, cwd: DEPLOY, maxBuffer: 16 * 1024 * 1024 })).stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A root filesystem holding these binaries and every library they link, as a tar. */
function baseRootfs(dir: string, binaries: Record<string, string>): string {
  const root = join(dir, 'rootfs');
  const put = (from: string, to: string): void => {
    mkdirSync(join(root, dirname(to)), { recursive: true });
    copyFileSync(realpathSync(from), join(root, to));
  };
  for (const [inImage, onHost] of Object.entries(binaries)) {
    put(onHost, inImage);
    chmodSync(join(root, inImage), 0o755);
    const ldd = spawnSync('ldd', [realpathSync(onHost)], { encoding: 'utf8' }).stdout;
    for (const lib of ldd.match(/\/\S+/g) ?? []) put(lib, lib);
  }
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const d of ['tmp', 'data', 'root']) mkdirSync(join(root, d));
  chmodSync(join(root, 'tmp'), 0o1777);
  const tar = join(dir, 'rootfs.tar');
  expect(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status).toBe(0);
  return tar;
}

/** dist/ is what the bundle ships: built again when any source file is newer. */
function ensureBuilt(): void {
  const newest = (d: string): number => Math.max(...readdirSync(d).map((f) => statSync(join(d, f)).mtimeMs));
  const cli = join(PKG, 'dist', 'cli.js');
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(join(PKG, 'src'))) return;
  const built = spawnSync('pnpm', ['--filter', '@sealsig/relay', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`relay build failed: ${built.stderr}`);
}

async function healthy(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`relay on ${port} not healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const frameOf = (n: number): Uint8Array => new TextEncoder().encode(`frame ${n}`);

/**
 * A publishing client that holds every frame until an ACK covers it (PROTOCOL-RELAY.md §3.1, §8): on NACK 7 or a
 * closed connection it sends the frame again, on a new connection to `fallback`.
 */
class Publisher {
  private ws: WebSocket | undefined;
  private seq = 0;
  private readonly inflight = new Map<number, number>();
  private readonly again: number[] = [];
  /** Refused with a NACK (7 while the node drains): sent again on the next connection. */
  private readonly later: number[] = [];
  readonly closes: number[] = [];

  constructor(
    private url: string,
    private readonly fallback: string,
    private readonly token: string,
  ) {}

  get unacked(): number {
    return this.inflight.size + this.again.length + this.later.length;
  }

  async open(): Promise<void> {
    const ws = new WebSocket(`${this.url}?token=${this.token}`, [SUBPROTOCOL]);
    ws.binaryType = 'nodebuffer';
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const m = decodeOutbound(new Uint8Array(data));
      if (m.kind === 'ack') for (const s of [...this.inflight.keys()]) if (s <= m.seq) this.inflight.delete(s);
      if (m.kind === 'nack') {
        const n = this.inflight.get(m.seq);
        this.inflight.delete(m.seq);
        if (n !== undefined) this.later.push(n);
      }
    });
    ws.on('close', (code) => {
      this.closes.push(code);
      this.again.push(...this.inflight.values());
      this.inflight.clear();
      this.ws = undefined;
      this.url = this.fallback;
      void this.open();
    });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    this.seq = 0;
    this.ws = ws;
    this.again.unshift(...this.later.splice(0));
    this.send();
  }

  /** Sends what waits to be sent again, then `n`; while reconnecting, they wait. */
  send(n?: number): void {
    if (n !== undefined) this.again.push(n);
    const ws = this.ws;
    if (ws === undefined) return;
    for (const m of this.again.splice(0)) {
      this.inflight.set(++this.seq, m);
      ws.send(encodePublish(TOPIC, frameOf(m)));
    }
  }

  close(): void {
    this.ws?.removeAllListeners('close');
    this.ws?.close();
  }
}

describe.skipIf(missing.length > 0)('relay container image (podman)', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sealsig-relay-container-'));
    ensureBuilt();
    const bundle = join(work, 'bundle');
    const deployed = spawnSync('pnpm', ['--config.inject-workspace-packages=true', '--filter', '@sealsig/relay', 'deploy', '--prod', '--offline', bundle], { cwd: ROOT, encoding: 'utf8' });
    if (deployed.status !== 0) throw new Error(`pnpm deploy failed: ${deployed.stderr}${deployed.stdout}`);
    const which = (cmd: string): string => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
    const tar = baseRootfs(work, { '/usr/bin/node': process.execPath, '/bin/sh': '/bin/sh', '/usr/bin/redis-server': which('redis-server') });
    await podman('import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tar, baseImage);
    // --layers=false: no intermediate images are left behind (the afterAll removes the two named ones).
    await podman('build', '--format', 'docker', '--layers=false', ...ULIMITS, '--build-arg', `BASE=${baseImage}`, '-f', join(DEPLOY, 'Dockerfile'), '-t', relayImage, bundle);
    ports = { a: await freePort(), b: await freePort() };
    composeEnv = {
      ...process.env,
      SEALSIG_RELAY_IMAGE: relayImage,
      SEALSIG_REDIS_IMAGE: baseImage,
      SEALSIG_RELAY_A_PORT: String(ports.a),
      SEALSIG_RELAY_B_PORT: String(ports.b),
      SEALSIG_RELAY_TOKEN_SECRET: SECRET,
    };
    await compose('up', '-d');
    await healthy(ports.a);
    await healthy(ports.b);
  }, 300_000);

  afterAll(async () => {
    if (work === undefined) return;
    await compose('down', '-v').catch(() => {});
    await podman('network', 'rm', '-f', `${project}_default`).catch(() => {}); // podman-compose 1.0 leaves it
    await podman('rmi', '-f', relayImage, baseImage).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('runs as its own user, passes its HEALTHCHECK, and answers /healthz on both nodes', async () => {
    const user = await podman('exec', `${project}_relay-a_1`, 'node', '-e', 'process.stdout.write(`${process.getuid()}:${process.getgid()}`)');
    expect(user).toBe('10001:10001');
    await podman('healthcheck', 'run', `${project}_relay-a_1`); // exit 0: healthy
    const inspect = await podman('image', 'inspect', '--format', '{{json .Config.Healthcheck}}', relayImage);
    expect(inspect).toContain('/healthz');
    for (const port of [ports.a, ports.b]) expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe('ok');
  });

  it('carries frames from one node to the other, and loses none when a node is stopped with SIGTERM under load', async () => {
    const token = await createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 300 });
    const urlA = `ws://127.0.0.1:${ports.a}/`;
    const urlB = `ws://127.0.0.1:${ports.b}/`;
    const sub: TestClient = await connect(`${urlA}?token=${token}`);
    expect(await sub.subscribe(TOPIC)).toBe(false);
    const got = (): Set<string> => new Set(sub.delivered(TOPIC).map((f) => Buffer.from(f).toString()));
    const pub = new Publisher(urlB, urlA, token);
    await pub.open();
    // Node B -> Redis -> node A.
    for (let n = 0; n < 100; n++) pub.send(n);
    await waitFor(() => got().size === 100, 20_000, '100 frames through node B to node A');
    // Then 300 more at 50 a second while node B is stopped (SIGTERM; drain delay 2 s from compose.yaml).
    const relayB = `${project}_relay-b_1`;
    let stopped: Promise<string> | undefined;
    for (let n = 100; n < 400; n++) {
      if (n === 150) stopped = podman('stop', '-t', '30', relayB);
      pub.send(n);
      await new Promise((r) => setTimeout(r, 20));
    }
    await stopped;
    await waitFor(() => pub.unacked === 0, 30_000, 'every frame acknowledged');
    await waitFor(() => got().size === 400, 30_000, 'every frame delivered');
    pub.close();
    await sub.close();
    const lost = Array.from({ length: 400 }, (_, n) => `frame ${n}`).filter((f) => !got().has(f));
    expect(lost).toEqual([]);
    expect(pub.closes[0]).toBe(1012); // service restart: the graceful close
    expect((await podman('inspect', '--format', '{{.State.ExitCode}}', relayB)).trim()).toBe('0');
    const { stdout, stderr } = await run('podman', [...PODMAN, 'logs', relayB]);
    const logs = stdout + stderr;
    expect(logs).toContain('"event":"draining"');
    expect(logs).toContain('"event":"closed"');
  }, 120_000);
});
