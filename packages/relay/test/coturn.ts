/**
 * Spawns a real coturn `turnserver` (TURN REST mode: --use-auth-secret) and a `turnutils_peer` UDP echo peer
 * on free 127.0.0.1 ports, and runs `turnutils_uclient` against them. Debian package: coturn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Sends one datagram, resolves with the first answer's bytes or undefined after `ms`. */
function udpAsk(port: number, message: Buffer, ms: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (answer: Buffer | undefined): void => {
      clearTimeout(timer);
      s.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), ms);
    s.on('message', (m) => done(m));
    s.on('error', () => done(undefined));
    s.send(message, port, '127.0.0.1');
  });
}

/** A STUN Binding request (RFC 8489 §5, §6): type 0x0001, length 0, magic cookie, 12-byte transaction id. */
function stunBindingRequest(): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt32BE(0x2112a442, 4);
  for (let i = 8; i < 20; i++) b[i] = i;
  return b;
}

export interface UclientResult {
  /** Exit code (null when killed by the timeout). */
  code: number | null;
  output: string;
  /** Allocation succeeded and data went through the relay to the peer and back. */
  allocated: boolean;
  /** The allocation was refused (coturn answers 401 to bad/expired REST credentials). */
  refused: boolean;
}

export interface Coturn {
  port: number;
  peerPort: number;
  /** turnserver's log so far. */
  log(): string;
  uclient(username: string, credential: string): Promise<UclientResult>;
  stop(): Promise<void>;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

function start(cmd: string, args: string[], sink: (s: string) => void): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => sink(d.toString()));
  child.stderr!.on('data', (d: Buffer) => sink(d.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      sink(`spawn error: ${e.message}\n`);
      resolve();
    });
  });
  return { child, exited };
}

async function kill(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

export async function startCoturn(secret: string, realm = 'sealsig.test'): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'sealsig-coturn-'));
  const port = await freeUdpPort();
  const peerPort = await freeUdpPort();
  let log = '';
  const procs: Proc[] = [];
  const clients = new Set<Proc>();
  const stop = async (): Promise<void> => {
    await Promise.all([...procs, ...clients].map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    procs.push(
      start(
        'turnserver',
        [
          '-n', // no configuration file: only these flags
          '--use-auth-secret',
          `--static-auth-secret=${secret}`,
          `--realm=${realm}`,
          '--listening-ip=127.0.0.1',
          '--relay-ip=127.0.0.1',
          `--listening-port=${port}`,
          '--no-tcp',
          '--no-tls',
          '--no-dtls',
          '--no-cli',
          '--allow-loopback-peers',
          '--log-file=stdout',
          '--simple-log',
          `--pidfile=${join(dir, 'turnserver.pid')}`,
          `--userdb=${join(dir, 'turndb')}`,
        ],
        (s) => (log += s),
      ),
    );
    procs.push(start('turnutils_peer', ['-p', String(peerPort), '-L', '127.0.0.1'], () => {}));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const stun = await udpAsk(port, stunBindingRequest(), 200);
      const echo = await udpAsk(peerPort, Buffer.from('ping'), 200);
      if (stun !== undefined && stun.readUInt16BE(0) === 0x0101 && echo?.toString() === 'ping') break;
      if (Date.now() > deadline || procs.some((p) => p.child.exitCode !== null)) {
        throw new Error(`coturn did not start:\n${log}`);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    port,
    peerPort,
    log: () => log,
    async uclient(username, credential) {
      let output = '';
      const args = ['-v', '-c', '-n', '1', '-m', '1', '-u', username, '-w', credential];
      args.push('-p', String(port), '-e', '127.0.0.1', '-r', String(peerPort), '127.0.0.1');
      const p = start('turnutils_uclient', args, (s) => (output += s));
      clients.add(p);
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      await p.exited;
      clearTimeout(timer);
      clients.delete(p);
      const code = p.child.exitCode;
      // uclient prints "Received relay addr" once the Allocate succeeded, and "Cannot complete Allocation"
      // when it was refused (it does not print the 401 itself; the server log names the user).
      const allocated = code === 0 && /Received relay addr/.test(output) && /tot_recv_msgs=[1-9]/.test(output);
      const refused = code !== 0 && /Cannot complete Allocation/.test(output) && !/Received relay addr/.test(output);
      return { code, output, allocated, refused };
    },
    stop,
  };
}
