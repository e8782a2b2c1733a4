/**
 * TURN REST credentials (src/turn.ts) and the relay's GET /turn endpoint (src/turn-endpoint.ts), checked
 * against independent HMAC-SHA1 computations (node:crypto, test only), over real HTTP, and against a real
 * coturn turnserver driven by turnutils_uclient (test/coturn.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmissionToken, createRelay, createTurnCredentials, RelayError, type Relay, type TurnResponse } from '../src/index.js';
import { startCoturn, type Coturn } from './coturn.js';
import { startRelay, waitFor } from './helpers.js';

const TURN_SECRET = 'sealsig-turn-test-secret';
const ADMISSION_SECRET = 'sealsig-admission-secret-0123456789';
const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';
const URLS = ['turn:127.0.0.1:3478?transport=udp'];

function hmacSha1Base64(secret: string | Uint8Array, message: string): string {
  return createHmac('sha1', secret).update(message, 'utf8').digest('base64');
}

function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  return expect(p).rejects.toSatisfy((e: unknown) => e instanceof RelayError && e.code === code);
}

function get(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createTurnCredentials', () => {
  it('matches a fixed HMAC-SHA1 vector (computed with openssl dgst -sha1 -hmac)', async () => {
    const c = await createTurnCredentials({ secret: TURN_SECRET, user: 'alice', ttlSeconds: 3600, now: 1_700_000_000_000, urls: URLS });
    expect(c).toEqual({ urls: URLS, username: '1700003600:alice', credential: 'uNLblwLKvX2Q9EivfE9+QPH24hk=', ttl: 3600 });
    expect(c.credential).toBe(hmacSha1Base64(TURN_SECRET, '1700003600:alice'));
  });

  it('defaults the TTL to 3600 s and floors the current time to seconds', async () => {
    const c = await createTurnCredentials({ secret: TURN_SECRET, user: 'bob', now: 1_700_000_000_999, urls: URLS });
    expect(c.ttl).toBe(3600);
    expect(c.username).toBe('1700003600:bob');
  });

  it('always equals node:crypto HMAC-SHA1 over `${expiry}:${user}` (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 16, maxLength: 256 }),
        fc.stringMatching(/^[A-Za-z0-9_.@+=/-]{1,128}$/),
        fc.integer({ min: 1, max: 604_800 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        async (secret, user, ttl, now) => {
          const c = await createTurnCredentials({ secret, user, ttlSeconds: ttl, now, urls: URLS });
          const expiry = Math.floor(now / 1000) + ttl;
          expect(c.username).toBe(`${expiry}:${user}`);
          expect(c.credential).toBe(hmacSha1Base64(Buffer.from(secret), c.username));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects bad input with E_INVALID_ARGUMENT', async () => {
    const ok = { secret: TURN_SECRET, user: 'alice', urls: URLS };
    const bad: unknown[] = [
      { ...ok, user: 'al:ice' },
      { ...ok, user: '' },
      { ...ok, user: 'a b' },
      { ...ok, user: 'é' },
      { ...ok, user: 'x'.repeat(129) },
      { ...ok, user: 42 },
      { ...ok, ttlSeconds: 0 },
      { ...ok, ttlSeconds: 1.5 },
      { ...ok, ttlSeconds: 604_801 },
      { ...ok, ttlSeconds: '60' },
      { ...ok, secret: 'short' },
      { ...ok, secret: new Uint8Array(257) },
      { ...ok, urls: [] },
      { ...ok, urls: ['http://example'] },
      { ...ok, urls: ['turn:host with space'] },
      { ...ok, urls: 'turn:x' },
      { ...ok, urls: Array.from({ length: 17 }, () => 'turn:x') },
      { ...ok, now: Number.NaN },
      { ...ok, now: -1 },
      null,
    ];
    for (const options of bad) {
      await expectCode(createTurnCredentials(options as never), 'E_INVALID_ARGUMENT');
    }
  });

  it('createRelay validates the turn option and requires admission', () => {
    const turn = { secret: TURN_SECRET, urls: URLS };
    const admission = { secret: ADMISSION_SECRET };
    const attempts: unknown[] = [
      { turn },
      { admission, turn: { ...turn, urls: [] } },
      { admission, turn: { ...turn, secret: 'short' } },
      { admission, turn: { ...turn, ttlSeconds: 0 } },
    ];
    for (const options of attempts) {
      expect(() => createRelay(options as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }) as unknown as Error);
    }
  });
});

describe('GET /turn', () => {
  let relay: Relay;
  let http: string;
  let plainRelay: Relay;
  let plainHttp: string;
  beforeAll(async () => {
    ({ relay, http } = await startRelay({
      admission: { secret: ADMISSION_SECRET },
      turn: { secret: TURN_SECRET, urls: URLS, ttlSeconds: 600 },
      allowedOrigins: ['https://app.example'],
    }));
    ({ relay: plainRelay, http: plainHttp } = await startRelay({ admission: { secret: ADMISSION_SECRET } }));
  });
  afterAll(async () => {
    await relay?.close();
    await plainRelay?.close();
  });

  it('answers 404 when turn is not configured', async () => {
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    expect(await get(plainHttp, `/turn?token=${token}`)).toMatchObject({ status: 404, body: 'not found' });
  });

  it('answers 401 with a short reason for a missing, malformed, forged or expired token', async () => {
    const forged = await createAdmissionToken({ secret: 'another-secret-0123456789', topic: TOPIC, ttlSeconds: 60 });
    const expired = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60, now: Date.now() - 120_000 });
    const cases: [string, string][] = [
      ['/turn', 'admission token missing'],
      ['/turn?token=', 'admission token missing'],
      ['/turn?token=garbage', 'admission token invalid'],
      [`/turn?token=${'A'.repeat(600)}.${'B'.repeat(43)}`, 'admission token invalid'],
      [`/turn?token=${forged}`, 'admission token invalid'],
      [`/turn?token=${expired}`, 'admission token expired'],
    ];
    for (const [path, reason] of cases) {
      const res = await get(http, path);
      expect(res, path).toMatchObject({ status: 401, body: reason });
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('answers 405 to other methods and 403 to a foreign Origin', async () => {
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    expect((await get(http, `/turn?token=${token}`, { method: 'POST' })).status).toBe(405);
    const foreign = await get(http, `/turn?token=${token}`, { headers: { origin: 'https://evil.example' } });
    expect(foreign).toMatchObject({ status: 403, body: 'origin not allowed' });
  });

  it('answers 200 with iceServers for a valid token, not cacheable, CORS for the allowed origin', async () => {
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    const before = Math.floor(Date.now() / 1000);
    const res = await get(http, `/turn?token=${token}`, { headers: { origin: 'https://app.example' } });
    const after = Math.floor(Date.now() / 1000);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    const body = JSON.parse(res.body) as TurnResponse;
    expect(body.ttl).toBe(600);
    expect(body.iceServers).toHaveLength(1);
    const [server] = body.iceServers;
    expect(server!.urls).toEqual(URLS);
    const [expiry, user] = server!.username.split(':');
    expect(user).toBe(TOPIC);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
    expect(Number(expiry)).toBeLessThanOrEqual(after + 600);
    expect(server!.credential).toBe(hmacSha1Base64(TURN_SECRET, server!.username));
    expect(Object.keys(server!).sort()).toEqual(['credential', 'urls', 'username']);
  });

  it('takes a family token\'s prefix (the route tag) as the user part', async () => {
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, prefix: TOPIC, ttlSeconds: 60 });
    const res = await get(http, `/turn?token=${token}`);
    expect(res.status).toBe(200);
    const [server] = (JSON.parse(res.body) as TurnResponse).iceServers;
    expect(server!.username.split(':')[1]).toBe(TOPIC);
    expect(server!.credential).toBe(hmacSha1Base64(TURN_SECRET, server!.username));
  });
});

describe('GET /turn rate limit', () => {
  let relay: Relay | undefined;
  afterAll(() => relay?.close());

  /** A relay behind a trusted proxy, so X-Forwarded-For stands for the client address. */
  async function start(rateLimit?: { perSecond: number; burst: number }): Promise<string> {
    await relay?.close();
    let http: string;
    ({ relay, http } = await startRelay({
      admission: { secret: ADMISSION_SECRET },
      turn: { secret: TURN_SECRET, urls: URLS, ...(rateLimit === undefined ? {} : { rateLimit }) },
      trustProxy: true,
    }));
    return http;
  }
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

  it('answers 429 with retry-after once an address has spent its burst; another address is unaffected', async () => {
    const http = await start({ perSecond: 0.01, burst: 5 });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await get(http, '/turn?token=garbage', from('10.0.0.1'));
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(limited).toMatchObject({ body: 'rate limited' });
    expect(limited!.headers['retry-after']).toBe('100');
    expect(limited!.headers['cache-control']).toBe('no-store');
    // A good token from the limited address is refused too; a well-behaved address is served.
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    expect((await get(http, `/turn?token=${token}`, from('10.0.0.1'))).status).toBe(429);
    expect((await get(http, `/turn?token=${token}`, from('10.0.0.2'))).status).toBe(200);
    expect(relay!.metrics().turnRequests).toEqual({ invalid: 5, rate_limited: 4, issued: 1 });
  });

  it('limits by default (5/s, burst 20): a burst of bad tokens is cut off', async () => {
    const http = await start();
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(http, '/turn?token=garbage', from('10.0.0.3')).then((r) => r.status)));
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(20);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    expect((await get(http, `/turn?token=${token}`, from('10.0.0.4'))).status).toBe(200);
  });

  it('validates turn.rateLimit', () => {
    const turn = { secret: TURN_SECRET, urls: URLS };
    for (const rateLimit of [{ perSecond: 0, burst: 1 }, { perSecond: 1, burst: 0 }, 'fast']) {
      expect(() => createRelay({ admission: { secret: ADMISSION_SECRET }, turn: { ...turn, rateLimit } } as never)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }) as unknown as Error,
      );
    }
  });
});

describe('against a real coturn (use-auth-secret)', () => {
  let coturn: Coturn;
  let relay: Relay | undefined;
  beforeAll(async () => {
    coturn = await startCoturn(TURN_SECRET);
  }, 20_000);
  afterAll(async () => {
    await relay?.close();
    await coturn?.stop();
  });

  /** A refusal must be coturn's authentication refusing this very username. */
  async function expectRefused(username: string, credential: string): Promise<void> {
    const r = await coturn.uclient(username, credential);
    expect(r.refused, r.output).toBe(true);
    expect(r.allocated).toBe(false);
    await waitFor(() => coturn.log().includes(`<${username}>`), 5_000, 'coturn to log the refused user');
  }

  it('accepts a credential issued by createTurnCredentials (allocation + relayed data)', async () => {
    const c = await createTurnCredentials({ secret: TURN_SECRET, user: 'alice', ttlSeconds: 300, urls: [`turn:127.0.0.1:${coturn.port}`] });
    const r = await coturn.uclient(c.username, c.credential);
    expect(r.allocated, r.output).toBe(true);
  }, 20_000);

  it('accepts the credential served by the relay at GET /turn', async () => {
    ({ relay } = { relay: createRelay({ admission: { secret: ADMISSION_SECRET }, turn: { secret: TURN_SECRET, urls: [`turn:127.0.0.1:${coturn.port}`] } }) });
    const { port } = await relay.listen();
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    const res = await get(`http://127.0.0.1:${port}`, `/turn?token=${token}`);
    expect(res.status).toBe(200);
    const { iceServers } = JSON.parse(res.body) as TurnResponse;
    const r = await coturn.uclient(iceServers[0]!.username, iceServers[0]!.credential);
    expect(r.allocated, r.output).toBe(true);
  }, 20_000);

  it('refuses an expired credential', async () => {
    const c = await createTurnCredentials({ secret: TURN_SECRET, user: 'late', ttlSeconds: 60, now: Date.now() - 3_600_000, urls: URLS });
    await expectRefused(c.username, c.credential);
  }, 20_000);

  it('refuses a credential signed with another secret', async () => {
    const c = await createTurnCredentials({ secret: 'not-the-turn-secret-at-all', user: 'mallory', urls: URLS });
    await expectRefused(c.username, c.credential);
  }, 20_000);

  it('refuses an altered username (other user, or a later expiry) with the original credential', async () => {
    const c = await createTurnCredentials({ secret: TURN_SECRET, user: 'carol', ttlSeconds: 300, urls: URLS });
    const [expiry] = c.username.split(':');
    await expectRefused(`${expiry}:mallory`, c.credential);
    await expectRefused(`${Number(expiry) + 86_400}:carol`, c.credential);
  }, 20_000);
});

describe('sealsig-relay CLI --turn-*', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  function run(args: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
    const pkg = fileURLToPath(new URL('..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: pkg, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, stderr: () => err, exit };
  }

  it('serves /turn with --turn-secret, repeated --turn-url and --turn-ttl', async () => {
    const p = run([
      '--port', '0', '--token-secret', ADMISSION_SECRET, '--turn-secret', TURN_SECRET,
      '--turn-url', 'turn:turn.example:3478', '--turn-url', 'turns:turn.example:5349', '--turn-ttl', '900',
    ]);
    await waitFor(() => p.stderr().includes('"event":"listening"') || p.child.exitCode !== null, 20_000, 'relay to start');
    const line = p.stderr().split('\n').find((l) => l.includes('"event":"listening"'));
    expect(line, p.stderr()).toBeDefined();
    const { port } = JSON.parse(line!) as { port: number };
    const token = await createAdmissionToken({ secret: ADMISSION_SECRET, topic: TOPIC, ttlSeconds: 60 });
    const res = await get(`http://127.0.0.1:${port}`, `/turn?token=${token}`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as TurnResponse;
    expect(body.ttl).toBe(900);
    expect(body.iceServers[0]!.urls).toEqual(['turn:turn.example:3478', 'turns:turn.example:5349']);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  }, 25_000);

  it('refuses --turn-url without --turn-secret (exit 2)', async () => {
    const p = run(['--port', '0', '--turn-url', 'turn:turn.example']);
    expect(await p.exit).toBe(2);
    expect(p.stderr()).toContain('--turn-secret and --turn-url go together');
  }, 20_000);
});
