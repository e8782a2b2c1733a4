/**
 * A small local stand-in for PubNub's REST API, enough for the real `pubnub` SDK (v12, event engine)
 * configured with `origin: '127.0.0.1:PORT', ssl: false`:
 *
 * - GET /publish/{pub}/{sub}/0/{channel}/0/{json}: stores the message with a new 17-digit timetoken and
 *   answers [1,"Sent","<tt>"]. Like PubNub it refuses messages whose escaped JSON plus channel name is
 *   over 32 KiB (HTTP 414), so frames above that must be chunked by the transport;
 * - GET /v2/subscribe/{sub}/{channels}/0: without tt, the handshake ({"t":{"t":now,"r":1},"m":[]});
 *   with tt, a long poll answered with every stored message newer than tt on those channels, at once
 *   or as soon as one is published (or empty after holdMs);
 * - GET /v2/presence/... (leave, heartbeat): 200 OK; /time/0: the current timetoken.
 *
 * Messages are kept for 60 s (and at most 5000), as PubNub's subscribe cursor expects.
 */
import http from 'node:http';
import type net from 'node:net';

export interface PubNubServer {
  port: number;
  /** Publishes refused for size. */
  readonly rejectedTooLarge: number;
  /** Breaks the connections of `uuid`'s pending long polls, as a network failure would. */
  disrupt(uuid: string): number;
  stop(): Promise<void>;
}

interface Stored {
  tt: bigint;
  channel: string;
  data: unknown;
  publisher: string;
  at: number;
}

interface Waiter {
  uuid: string;
  socket: net.Socket;
  channels: Set<string>;
  since: bigint;
  respond: (messages: Stored[], cursor: bigint) => void;
}

export const PUBNUB_MAX_MESSAGE = 32 * 1024;

export async function startPubNubServer(options: { maxMessageBytes?: number; holdMs?: number } = {}): Promise<PubNubServer> {
  const maxMessage = options.maxMessageBytes ?? PUBNUB_MAX_MESSAGE;
  const holdMs = options.holdMs ?? 15_000;
  const stored: Stored[] = [];
  const waiters = new Set<Waiter>();
  let lastTt = 0n;
  let rejectedTooLarge = 0;
  const now = (): bigint => {
    const tt = BigInt(Date.now()) * 10_000n;
    lastTt = tt > lastTt ? tt : lastTt + 1n;
    return lastTt;
  };
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'text/javascript; charset="UTF-8"', 'content-length': Buffer.byteLength(text), 'access-control-allow-origin': '*' });
    res.end(text);
  };
  const envelope = (m: Stored, sub: string) => ({ a: '1', f: 0, i: m.publisher, p: { t: m.tt.toString(), r: 1 }, k: sub, c: m.channel, d: m.data, b: m.channel });
  const prune = (): void => {
    const cutoff = Date.now() - 60_000;
    while (stored.length > 0 && (stored[0]!.at < cutoff || stored.length > 5000)) stored.shift();
  };

  // Node's default 16 KiB header limit counts the request line, which holds the message here.
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const parts = rawPath.split('/');
    try {
      if (parts[1] === 'time') return json(res, 200, [now().toString()]);
      if (parts[1] === 'publish' && parts.length === 8) {
        // ['', 'publish', pub, sub, '0', channel, '0', json]
        const channel = decodeURIComponent(parts[5]!);
        const escaped = parts[7]!;
        if (escaped.length + channel.length > maxMessage) {
          rejectedTooLarge++;
          return json(res, 414, { status: 414, error: true, message: 'Request URI Too Long', service: 'Balancer' });
        }
        const data: unknown = JSON.parse(decodeURIComponent(escaped));
        const message: Stored = { tt: now(), channel, data, publisher: url.searchParams.get('uuid') ?? '', at: Date.now() };
        stored.push(message);
        prune();
        for (const waiter of [...waiters]) if (waiter.channels.has(channel)) waiter.respond([message], message.tt);
        return json(res, 200, [1, 'Sent', message.tt.toString()]);
      }
      if (parts[1] === 'v2' && parts[2] === 'subscribe' && parts.length >= 5) {
        const sub = parts[3]!;
        const channels = new Set(decodeURIComponent(parts[4]!).split(',').filter((c) => c && c !== ','));
        const ttParam = url.searchParams.get('tt');
        if (!ttParam || ttParam === '0') return json(res, 200, { t: { t: now().toString(), r: 1 }, m: [] });
        const since = BigInt(ttParam);
        const backlog = stored.filter((m) => m.tt > since && channels.has(m.channel));
        if (backlog.length > 0) return json(res, 200, { t: { t: backlog.at(-1)!.tt.toString(), r: 1 }, m: backlog.map((m) => envelope(m, sub)) });
        const waiter: Waiter = {
          uuid: url.searchParams.get('uuid') ?? '',
          socket: req.socket,
          channels,
          since,
          respond: (messages, cursor) => {
            waiters.delete(waiter);
            clearTimeout(timer);
            json(res, 200, { t: { t: cursor.toString(), r: 1 }, m: messages.map((m) => envelope(m, sub)) });
          },
        };
        const timer = setTimeout(() => waiter.respond([], since), holdMs);
        waiters.add(waiter);
        req.once('close', () => {
          if (waiters.delete(waiter)) clearTimeout(timer);
        });
        return;
      }
      if (parts[1] === 'v2' && parts[2] === 'presence') return json(res, 200, { status: 200, message: 'OK', action: 'leave', service: 'Presence' });
      return json(res, 404, { status: 404, error: true, message: 'Not Found', service: 'test server' });
    } catch (e) {
      return json(res, 400, { status: 400, error: true, message: `Invalid request: ${(e as Error).message}`, service: 'test server' });
    }
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get rejectedTooLarge() {
      return rejectedTooLarge;
    },
    disrupt(uuid) {
      let n = 0;
      for (const waiter of [...waiters]) {
        if (waiter.uuid !== uuid) continue;
        waiter.socket.destroy(); // its request's 'close' removes the waiter and its timer
        n++;
      }
      return n;
    },
    async stop() {
      for (const waiter of [...waiters]) waiter.respond([], waiter.since);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
