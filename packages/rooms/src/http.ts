/**
 * The small HTTP client the rooms layer uses to talk to @sealsig/relay (descriptors, TURN credentials): global
 * fetch, one timeout per request, no redirects, answers read with a byte cap and never buffered whole.
 * Failures are SealsigError E_TRANSPORT unless the caller maps a status to something more precise.
 */
import { SealsigError } from '@sealsig/core';

export interface HttpOptions {
  /** http(s) base URL of the relay, e.g. 'https://relay.example' (a path prefix is kept). */
  url: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Per request, ms. Default 10 000. */
  timeoutMs?: number;
}

export interface HttpClient {
  /** The URL of `path` (no leading slash) under the base URL. */
  endpoint(path: string): string;
  /** One request with the timeout; `read` consumes the answer before the timer is cleared. */
  call<T>(url: string, init: RequestInit, read: (res: Response) => Promise<T>): Promise<T>;
}

export function httpClient(options: HttpOptions, what: string): HttpClient {
  if (typeof options !== 'object' || options === null) throw new SealsigError('E_INVALID_ARGUMENT', 'options must be an object');
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new SealsigError('E_INVALID_ARGUMENT', 'url must be an http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new SealsigError('E_INVALID_ARGUMENT', 'url must be an http(s) URL');
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'no fetch available: pass options.fetch');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'timeoutMs must be a positive integer');
  const prefix = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  return {
    endpoint: (path) => `${base.origin}${prefix}${path}`,
    async call(url, init, read) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const res = await doFetch(url, { ...init, signal: controller.signal, redirect: 'error' });
        return await read(res);
      } catch (e) {
        if (e instanceof SealsigError) throw e;
        const how = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : 'failed';
        throw new SealsigError('E_TRANSPORT', `${what} request ${how}`, { cause: e });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Drops an answer's body without reading it (releases the connection). */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already closed
  }
}

/** The body, read chunk by chunk and refused (E_TRANSPORT) as soon as it passes `max` bytes. */
export async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  if (declared !== null && !(Number(declared) <= max)) {
    await discard(res);
    throw new SealsigError('E_TRANSPORT', `the relay answered ${declared} bytes, over ${max}`);
  }
  const out = new Uint8Array(max);
  let n = 0;
  if (res.body === null) return out.slice(0, 0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > max) {
      await reader.cancel().catch(() => undefined);
      throw new SealsigError('E_TRANSPORT', `the relay answered over ${max} bytes`);
    }
    out.set(value, n);
    n += value.length;
  }
  return out.slice(0, n);
}
