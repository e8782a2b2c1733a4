/**
 * Small helpers shared by the checks, exported for adapter authors' own tests: an inbox that records the
 * frames a subscription receives, waiting with a deadline, random topics, and typed-error assertions.
 * Nothing here depends on vitest, so a check fails by throwing a ConformanceError.
 */
import { equalBytes, toBase64Url } from '@sealsig/core';
import type { Transport } from '@sealsig/core';
import type { ResolvedOptions } from './options.js';

/** A failed conformance check; the message says what the adapter did wrong. */
export class ConformanceError extends Error {
  /** Always 'ConformanceError'. */
  override readonly name = 'ConformanceError';
}

/** Throws a ConformanceError with \`message\` unless \`condition\` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

/** Resolves after \`ms\` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every few milliseconds until it holds; fails with `what` after timeoutMs. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new ConformanceError(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(3);
  }
}

/** Random bytes from the platform CSPRNG (Web Crypto: Node 20 and browsers). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** A topic shaped like a session's route tag: 16 random bytes, base64url, 22 characters (ADAPTERS.md §1). */
export function randomTopic(): string {
  return toBase64Url(randomBytes(16));
}

/**
 * A topic shaped like a member's inbox in core protocol v2: `routeTag`, "_", and 22 random base64url
 * characters (45 characters with a 22-character route tag).
 */
export function inboxTopic(routeTag: string): string {
  return `${routeTag}_${randomTopic()}`;
}

export { equalBytes } from '@sealsig/core';

/** Says how two byte strings differ, for failure messages. */
export function describeDifference(expected: Uint8Array, actual: Uint8Array): string {
  if (actual.length !== expected.length) return `length ${actual.length} instead of ${expected.length}`;
  const i = expected.findIndex((b, k) => actual[k] !== b);
  return `byte ${i} is ${actual[i]} instead of ${expected[i]}`;
}

export function describeValue(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e === 'string' ? JSON.stringify(e) : String(e);
}

/** Records every frame a subscription delivers (the arrays themselves, so a later mutation shows). */
export class Inbox {
  /** The frames delivered, in order. */
  readonly frames: Uint8Array[] = [];
  /** Deliveries that were not Uint8Arrays (an adapter bug, reported by the checks). */
  readonly notBytes: unknown[] = [];
  /** The FrameHandler to subscribe with. */
  readonly handler = (frame: Uint8Array): void => {
    if (frame instanceof Uint8Array) this.frames.push(frame);
    else this.notBytes.push(frame);
  };

  /** How many frames arrived. */
  get count(): number {
    return this.frames.length;
  }

  /** Waits until `n` frames arrived in total. */
  async waitForCount(n: number, timeoutMs: number, what = `${n} frames arrived`): Promise<void> {
    await waitUntil(() => this.frames.length + this.notBytes.length >= n, timeoutMs, `${what} (got ${this.frames.length})`);
    this.assertBytes();
  }

  /** Waits until a frame equal to `expected` arrived at index `from` or later. */
  async waitForFrame(expected: Uint8Array, from: number, timeoutMs: number, quietMs: number, what: string): Promise<void> {
    const found = () => this.frames.slice(from).some((f) => equalBytes(f, expected));
    const deadline = Date.now() + timeoutMs;
    // Fail fast when something else arrived: wait a quiet period for the right frame, then report.
    while (!found()) {
      this.assertBytes();
      if (this.frames.length > from) {
        await sleep(quietMs);
        if (found()) break;
        const other = this.frames[from]!;
        throw new ConformanceError(`${what}: a different frame arrived (${describeDifference(expected, other)})`);
      }
      if (Date.now() > deadline) throw new ConformanceError(`${what}: nothing arrived within ${timeoutMs} ms`);
      await sleep(3);
    }
  }

  /** Fails with a ConformanceError if a delivery was not a Uint8Array. */
  assertBytes(): void {
    check(this.notBytes.length === 0, `a subscription delivered a ${describeValue(this.notBytes[0])} instead of a Uint8Array`);
  }
}

/**
 * Asserts that `fn()` returns a promise that rejects with a SealsigError of `code`. A synchronous throw
 * fails too: callers of an async contract handle rejections, not throws. The error is recognized by its
 * name and code, so an adapter built against another copy of @sealsig/core passes.
 */
export async function expectRejects(what: string, fn: () => Promise<unknown>, code: string): Promise<void> {
  let promise: Promise<unknown>;
  try {
    promise = fn();
  } catch (e) {
    throw new ConformanceError(`${what} threw synchronously (${describeValue(e)}); it must return a promise that rejects with ${code}`);
  }
  check(promise !== null && typeof (promise as { then?: unknown })?.then === 'function', `${what} did not return a promise`);
  try {
    await promise;
  } catch (e) {
    const err = e as { name?: unknown; code?: unknown };
    if (e instanceof Error && err.name === 'SealsigError' && err.code === code) return;
    throw new ConformanceError(`${what} rejected with ${describeValue(e)}; expected a SealsigError ${code}`);
  }
  throw new ConformanceError(`${what} resolved; expected it to reject with a SealsigError ${code}`);
}

/**
 * Creates `n` transports, runs `fn` with them and closes them all afterwards, even when `fn` fails
 * (a failure of `fn` wins over a failure to close).
 */
export async function withTransports<T>(options: Pick<ResolvedOptions, 'create'>, n: number, fn: (transports: Transport[]) => Promise<T>): Promise<T> {
  const transports: Transport[] = [];
  let result: T;
  try {
    for (let i = 0; i < n; i++) transports.push(await options.create());
    result = await fn(transports);
  } catch (e) {
    await Promise.allSettled(transports.map((t) => t.close()));
    throw e;
  }
  await Promise.all(transports.map((t) => t.close()));
  return result;
}

/** Resolves once the transport reports 'open' (adapters may start in 'connecting'). */
export async function waitOpen(t: Transport, timeoutMs: number): Promise<void> {
  await waitUntil(() => t.state === 'open', timeoutMs, `the transport is 'open' (it is '${t.state}')`);
}
