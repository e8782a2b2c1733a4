/**
 * A local Firebase Realtime Database for the tests: the community server `firebase-server` 1.1.0
 * (/work/shared/TOOLCHAIN.md, "Firebase Realtime Database"), on a free port of 127.0.0.1.
 *
 * firebase-server ignores the wire actions `g` (get), `o`/`om`/`oc` (onDisconnect set/update/cancel)
 * and `n` (unlisten), so the SDK calls that send them would hang. `attachMissingActions` adds a second
 * listener on the server's WebSocket server (`wss`, a private field of FirebaseServer) that answers them
 * and applies each socket's onDisconnect writes when that socket closes, as the real service does.
 */
import FirebaseServer from 'firebase-server';

/** The parts of a `ws` socket the listener uses. */
interface ServerSocket {
  send(data: string): void;
  on(event: 'message', listener: (data: { toString(): string }) => void): void;
  on(event: 'close', listener: () => void): void;
  terminate(): void;
}

interface WireRequest {
  t?: unknown;
  d?: { r?: unknown; a?: unknown; b?: { p?: unknown; d?: unknown } };
}

/** The firebase 8 reference firebase-server keeps its data in (private field `baseRef`). */
interface BaseRef {
  child(path: string): BaseRef;
  set(value: unknown): Promise<void>;
  update(value: unknown): Promise<void>;
  once(event: 'value'): Promise<{ exportVal(): unknown }>;
}

interface ServerInternals {
  wss: { on(event: 'connection', listener: (ws: ServerSocket, request: { url?: string }) => void): void };
  baseRef: BaseRef;
  targaryen: { as(auth: unknown): { write(path: string, data: unknown, now: number): { newDatabase: unknown } } } & Record<string, unknown>;
}

type DisconnectOp = { kind: 'set' | 'update'; path: string; data: unknown };

export interface LocalFirebase {
  readonly port: number;
  /** A database URL for initializeApp (firebase-server ignores the namespace; dropSockets uses it). */
  readonly databaseURL: string;
  /** Number of client sockets connected now. */
  readonly socketCount: number;
  /**
   * Kills the sockets of the clients whose databaseURL named namespace `ns` (`?ns=...`), as a network
   * failure would; the SDKs reconnect by themselves. Returns how many were killed.
   */
  dropSockets(ns: string): number;
  /** Replaces the security rules (firebase-server evaluates them with targaryen). */
  setRules(rules: object): void;
  /** The server's copy of the data at `path` ('' for the root). */
  read(path: string): Promise<unknown>;
  close(): Promise<void>;
}

const SERVER_TIMESTAMP = '.sv';

/** Replaces `{'.sv': 'timestamp'}` placeholders with `now`, as firebase-server does for writes. */
function resolveServerValues(value: unknown, now: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (obj[SERVER_TIMESTAMP] === 'timestamp' && Object.keys(obj).length === 1) return now;
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveServerValues(v, now)]));
}

const normalize = (p: unknown): string => (typeof p === 'string' ? p.replace(/^\/+/, '') : '');

function attachMissingActions(server: ServerInternals): Map<ServerSocket, string> {
  const sockets = new Map<ServerSocket, string>(); // socket -> namespace it asked for
  const ref = (path: string) => (path ? server.baseRef.child(path) : server.baseRef);
  const apply = (op: DisconnectOp) => {
    const data = resolveServerValues(op.data, Date.now());
    void (op.kind === 'set' ? ref(op.path).set(data) : ref(op.path).update(data));
  };
  server.wss.on('connection', (ws, request) => {
    sockets.set(ws, new URL(request.url ?? '/', 'http://localhost').searchParams.get('ns') ?? '');
    const onDisconnect: DisconnectOp[] = [];
    let buffer = '';
    const reply = (requestId: unknown, data: unknown = {}) =>
      ws.send(JSON.stringify({ t: 'd', d: { r: requestId, b: { s: 'ok', d: data } } }));
    ws.on('message', (raw) => {
      const text = raw.toString();
      // Same framing as firebase-server: a message may be split in several frames, announced by a count.
      if (buffer === '' && /^\d{1,6}$/.test(text)) return;
      let msg: WireRequest;
      try {
        msg = JSON.parse(buffer + text) as WireRequest;
        buffer = '';
      } catch {
        buffer += text;
        return;
      }
      const d = msg.d;
      if (msg.t !== 'd' || !d || typeof d !== 'object') return;
      const path = normalize(d.b?.p);
      switch (d.a) {
        case 'g':
          void ref(path)
            .once('value')
            .then((snap) => reply(d.r, snap.exportVal()));
          break;
        case 'o':
          onDisconnect.push({ kind: 'set', path, data: d.b?.d ?? null });
          reply(d.r);
          break;
        case 'om':
          onDisconnect.push({ kind: 'update', path, data: d.b?.d ?? {} });
          reply(d.r);
          break;
        case 'oc': {
          // Cancel: drops the queued writes at or below the path.
          for (let i = onDisconnect.length - 1; i >= 0; i--) {
            const p = onDisconnect[i]!.path;
            if (path === '' || p === path || p.startsWith(`${path}/`)) onDisconnect.splice(i, 1);
          }
          reply(d.r);
          break;
        }
        case 'n':
          reply(d.r);
          break;
        default:
          break;
      }
    });
    ws.on('close', () => {
      sockets.delete(ws);
      for (const op of onDisconnect.splice(0)) apply(op);
    });
  });
  return sockets;
}

type TargaryenWrite = (this: unknown, path: string, value: unknown, priorityOrOptions?: unknown, now?: number) => unknown;

/**
 * firebase-server 1.1.0 calls targaryen 3's `write(path, data, now)`, but the third parameter is now the
 * priority: the rules then see `now` = the evaluation time, not the server timestamp written, and
 * `newData.val() == now` holds only by chance. This makes a lone numeric third argument the time again
 * (firebase-server never passes a priority that way: it writes `.priority` inside the data).
 */
function fixTargaryenNow(server: ServerInternals): void {
  const proto = Object.getPrototypeOf(server.targaryen) as { write: TargaryenWrite; sealsigPatched?: boolean };
  if (proto.sealsigPatched) return;
  const write = proto.write;
  proto.write = function (path, value, priorityOrOptions, now) {
    if (typeof priorityOrOptions === 'number' && now === undefined) return write.call(this, path, value, undefined, priorityOrOptions);
    return write.call(this, path, value, priorityOrOptions, now);
  };
  proto.sealsigPatched = true;
}

/** Starts firebase-server on a free port of 127.0.0.1. */
export async function startLocalFirebase(): Promise<LocalFirebase> {
  const server = new FirebaseServer({ port: 0, address: '127.0.0.1' }, 'sealsig-test');
  const internals = server as unknown as ServerInternals;
  const sockets = attachMissingActions(internals);
  fixTargaryenNow(internals);
  await new Promise<void>((resolve, reject) => {
    const wss = internals.wss as unknown as { address(): unknown; once(e: string, l: (...a: unknown[]) => void): void };
    if (wss.address()) return resolve();
    wss.once('listening', () => resolve());
    wss.once('error', (e) => reject(e));
  });
  const port = server.getPort();
  return {
    port,
    databaseURL: `http://127.0.0.1:${port}?ns=sealsig-test`,
    get socketCount() {
      return sockets.size;
    },
    dropSockets(ns) {
      let n = 0;
      for (const [ws, name] of sockets) if (name === ns) (ws.terminate(), n++);
      return n;
    },
    setRules(rules) {
      server.setRules(rules);
    },
    async read(path) {
      const snap = await (path ? internals.baseRef.child(path) : internals.baseRef).once('value');
      return snap.exportVal();
    },
    async close() {
      for (const ws of sockets.keys()) ws.terminate();
      await server.close();
    },
  };
}
