import { afterEach, beforeAll, expect, vi } from 'vitest';
import {
  BroadcastType,
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  SealsigError,
  createMemoryNetwork,
  createSessionId,
  deriveEpochKeys,
  deriveSession,
  joinSession,
  memberIdOf,
  randomBytes,
  ready,
  sealBroadcast,
  type ErrorCode,
  type Header,
  type KeyPair,
  type MemoryNetwork,
  type PeerInfo,
  type Session,
  type SessionOptions,
} from '../src/index.js';

export interface Pair {
  net: MemoryNetwork;
  a: Session;
  b: Session;
  sessionId: string;
}

/** Resolves with the first event of that type (or rejects after ms). */
export function next<T>(s: Session, type: 'peer-joined' | 'message' | 'signal' | 'error' | 'peer-left', ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${type}`)), ms);
    s.once(type, (e: unknown) => {
      clearTimeout(t);
      resolve(e as T);
    });
  });
}

export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Two members of one session on one in-memory network, each aware of the other. */
export async function pair(opts: Partial<SessionOptions> = {}, net = createMemoryNetwork()): Promise<Pair> {
  const sessionId = createSessionId();
  const a = await joinSession({ sessionId, transport: net.connect(), ...opts });
  const b = await joinSession({ sessionId, transport: net.connect(), ...opts });
  await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
  return { net, a, b, sessionId };
}

/** Runs fn and returns the SealsigError it threw, or undefined; any other exception fails the test. */
export function sealsigErrorOf(fn: () => unknown): SealsigError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof SealsigError)) throw new Error(`expected a SealsigError, got ${String(e)}`, { cause: e });
    return e;
  }
}

export type { PeerInfo };

/** Asserts that fn throws the SealsigError `code`. */
export function expectCode(fn: () => unknown, code: ErrorCode): void {
  const e = sealsigErrorOf(fn);
  expect(e?.code, e ? e.message : 'no error thrown').toBe(code);
}

/**
 * A hello as a member holding the session id can seal it (epoch 0), signed with `signing` and carrying any
 * payload, for tests that forge or bend hellos. Sender: the member id of `signing` unless `over` names one.
 */
export function sealHelloAs(sessionId: string, signing: KeyPair, payload: unknown[], over: Partial<Header> = {}): Uint8Array {
  const keys = deriveSession(sessionId);
  return sealBroadcast({
    header: {
      version: PROTOCOL_VERSION,
      suite: SUITE_V1,
      kind: FrameKind.broadcast,
      route: keys.routeTag,
      sender: memberIdOf(keys.memberIdKey, signing.publicKey),
      instance: randomBytes(8),
      recipient: null,
      epoch: 0,
      counter: 0,
      timestamp: Date.now(),
      ...over,
    },
    key: deriveEpochKeys(0, keys.roomKey0).broadcastKey,
    signingKey: signing.privateKey,
    type: BroadcastType.hello,
    payload,
  });
}

/** Collects the errors a session reports. */
export function errorsOf(s: Session): SealsigError[] {
  const errors: SealsigError[] = [];
  s.on('error', (e) => errors.push(e));
  return errors;
}

/** The sessions a test file opens: sodium ready before all tests, each closed after its test, real timers restored. */
export function sessionsClosedAfterEach(): Session[] {
  beforeAll(async () => {
    await ready();
  });
  const open: Session[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    vi.useRealTimers();
  });
  return open;
}
