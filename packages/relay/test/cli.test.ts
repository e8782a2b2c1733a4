/** The sealsig-relay command, spawned as a real process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HELP, envName, parseCli } from '../src/cli-options.js';
import { connect, roundTrip } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function run(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function listening(stderr: () => string): Promise<{ host: string; port: number }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = stderr()
      .split('\n')
      .find((l) => l.includes('"event":"listening"'));
    if (line !== undefined) return JSON.parse(line) as { host: string; port: number };
    if (Date.now() > deadline) throw new Error(`relay did not start: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sealsig-relay CLI', () => {
  it('--help prints the flags and exits 0', async () => {
    const p = run(['--help']);
    expect(await p.exit).toBe(0);
    for (const flag of ['--host', '--port', '--max-frame-bytes', '--redis', '--static', '--origin', '--token-secret', '--max-connections', '--max-connections-per-ip', '--max-topics-per-connection', '--retention-frames', '--retention-age-ms']) {
      expect(p.stdout()).toContain(flag);
    }
  });

  it('refuses an unknown flag with exit code 2', async () => {
    const p = run(['--nope']);
    expect(await p.exit).toBe(2);
    expect(p.stderr()).toContain('Usage');
  });

  it('serves on --port 0, prints its address, and closes gracefully on SIGTERM', async () => {
    const p = run(['--port', '0', '--origin', 'https://a.example', '--origin', 'https://b.example', '--retention-frames', '8', '--max-topics-per-connection', '2']);
    const { port, host } = await listening(p.stderr);
    expect(host).toBe('127.0.0.1');
    // One "listening" line, in the shape of every other log line (README.md "Install and run").
    const lines = p.stderr().split('\n').filter((l) => l.includes('listening'));
    expect(lines).toHaveLength(1);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(['time', 'level', 'event', 'host', 'port']);
    const url = `ws://127.0.0.1:${port}/`;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.text()).toBe('ok');
    const refused = await connect(url, { origin: 'https://evil.example' });
    expect((await refused.closed).code).toBe(1008);
    const a = await connect(url, { origin: 'https://b.example' });
    const b = await connect(url);
    await a.subscribe('room');
    await b.subscribe('room');
    await roundTrip(a, b, 'room');
    await a.subscribe('room_inbox');
    await a.subscribe('another-room'); // over --max-topics-per-connection 2
    expect(a.errors()).toMatchObject([{ code: 3, topic: 'another-room' }]);
    p.child.kill('SIGTERM');
    expect((await a.closed).code).toBe(1012);
    expect(await p.exit).toBe(0);
    expect(p.stderr()).toContain('"event":"closed"');
  });
});

describe('sealsig-relay environment variables', () => {
  // A value for every flag (with what it needs: --turn-secret needs --turn-url and --token-secret).
  const SECRET = 'a-token-secret-of-32-bytes-xxxxx';
  const cases: [flag: string, value: string | undefined, needs: string[]][] = [
    ['host', '0.0.0.0', []],
    ['port', '9000', []],
    ['max-frame-bytes', '1000', []],
    ['redis', 'redis://redis:6379', []],
    ['static', '/srv/www', []],
    ['origin', 'https://a.example', []],
    ['token-secret', SECRET, []],
    ['turn-secret', 'a-turn-secret-of-some-length', ['--turn-url', 'turn:turn.example:3478', '--token-secret', SECRET]],
    ['turn-url', 'turn:turn.example:3478', ['--turn-secret', 'a-turn-secret-of-some-length', '--token-secret', SECRET]],
    ['turn-ttl', '600', ['--turn-secret', 'a-turn-secret-of-some-length', '--turn-url', 'turn:t.example', '--token-secret', SECRET]],
    ['descriptor-max-entries', '5', []],
    ['descriptor-max-ttl-ms', '1000', []],
    ['max-connections', '7', []],
    ['max-connections-per-ip', '3', []],
    ['max-topics-per-connection', '2', []],
    ['retention-frames', '8', []],
    ['retention-age-ms', '5000', []],
    ['drain-delay-ms', '2000', []],
    ['trust-proxy', undefined, []],
  ];

  it('every flag can be set from the variable --help names; the flag wins; lists are comma-separated', () => {
    expect(cases.map(([flag]) => flag).sort()).toEqual(
      [...HELP.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]).filter((f, i, all) => f !== 'help' && all.indexOf(f) === i).sort(),
    );
    for (const [flag, value, needs] of cases) {
      expect(HELP).toContain(envName(flag));
      const byFlag = parseCli([`--${flag}`, ...(value === undefined ? [] : [value]), ...needs], {});
      const byEnv = parseCli(needs, { [envName(flag)]: value ?? '1' });
      expect(byEnv).toEqual(byFlag);
      if (needs.length === 0) expect(byEnv).not.toEqual(parseCli([], {}));
    }
    expect(parseCli(['--port', '1'], { SEALSIG_RELAY_PORT: '2' })?.port).toBe(1);
    expect(parseCli([], { SEALSIG_RELAY_ORIGIN: 'https://a.example, https://b.example' })?.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(parseCli([], { SEALSIG_RELAY_TRUST_PROXY: 'false' })?.trustProxy).toBe(false);
    expect(parseCli([], { SEALSIG_RELAY_PORT: '' })?.port).toBe(8787);
    expect(() => parseCli([], { SEALSIG_RELAY_TRUST_PROXY: 'maybe' })).toThrow(/SEALSIG_RELAY_TRUST_PROXY/);
    expect(() => parseCli([], { SEALSIG_RELAY_PORT: 'x' })).toThrow(/--port/);
  });
});
