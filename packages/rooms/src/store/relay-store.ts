/**
 * A DescriptorStore over @sealsig/relay's `/descriptors` endpoint (docs/PROTOCOL.md §R7; the relay's
 * README.md "Room descriptors"), with the global `fetch`:
 *
 *   put: `PUT <url>/descriptors/<id>?ttl=<ms>`, body = the sealed descriptor,
 *        `authorization: Bearer <base64url write token>` -> 204
 *   get: `GET <url>/descriptors/<id>` -> 200 bytes, or 404 (undefined)
 *
 * Statuses map to SealsigError codes: 400 E_INVALID_ARGUMENT, 403 E_AUTH_FAILED, 413 E_FRAME_TOO_LARGE,
 * 429 E_RATE_LIMITED; a network failure, a timeout, a 5xx or any other answer is E_TRANSPORT. A GET answer
 * is read with a cap of DESCRIPTOR_MAX_BYTES: a longer one is E_TRANSPORT, never buffered whole.
 */
import { SealsigError, toBase64Url } from '@sealsig/core';
import { checkPut } from './memory-store.js';
import { DESCRIPTOR_ID_PATTERN, DESCRIPTOR_MAX_BYTES, type DescriptorStore } from './store.js';

export interface RelayDescriptorStoreOptions {
  /** http(s) base URL of the relay, e.g. 'https://relay.example' (a path prefix is kept). */
  url: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Per request, ms. Default 10 000. */
  timeoutMs?: number;
}

const STATUS_CODES = {
  400: 'E_INVALID_ARGUMENT',
  403: 'E_AUTH_FAILED',
  413: 'E_FRAME_TOO_LARGE',
  429: 'E_RATE_LIMITED',
} as const;

export function relayDescriptorStore(options: RelayDescriptorStoreOptions): DescriptorStore {
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
  const endpoint = (id: string, query = ''): string => `${base.origin}${prefix}descriptors/${id}${query}`;

  /** One request with a timeout; `read` consumes the answer before the timer is cleared. */
  async function call<T>(url: string, init: RequestInit, read: (res: Response) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await doFetch(url, { ...init, signal: controller.signal, redirect: 'error' });
      return await read(res);
    } catch (e) {
      if (e instanceof SealsigError) throw e;
      const what = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : 'failed';
      throw new SealsigError('E_TRANSPORT', `descriptor store request ${what}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async put(id, value, opts) {
      checkPut(id, value, opts);
      const init: RequestInit = {
        method: 'PUT',
        body: value.slice(),
        headers: { authorization: `Bearer ${toBase64Url(opts.writeToken)}`, 'content-type': 'application/octet-stream' },
      };
      await call(endpoint(id, `?ttl=${opts.ttlMs}`), init, async (res) => {
        await discard(res);
        if (res.status === 204 || res.status === 200) return;
        throw statusError(res.status, 'put');
      });
    },
    async get(id) {
      if (typeof id !== 'string' || !DESCRIPTOR_ID_PATTERN.test(id)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor id must be 22 base64url characters');
      return call(endpoint(id), { method: 'GET' }, async (res) => {
        if (res.status === 404) {
          await discard(res);
          return undefined;
        }
        if (res.status !== 200) {
          await discard(res);
          throw statusError(res.status, 'get');
        }
        return readCapped(res, DESCRIPTOR_MAX_BYTES);
      });
    },
  };
}

function statusError(status: number, op: string): SealsigError {
  const code = (STATUS_CODES as Record<number, (typeof STATUS_CODES)[keyof typeof STATUS_CODES]>)[status];
  return new SealsigError(code ?? 'E_TRANSPORT', `descriptor store ${op} answered HTTP ${status}`);
}

/** Drops an answer's body without reading it (releases the connection). */
async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already closed
  }
}

/** The body, read chunk by chunk and refused (E_TRANSPORT) as soon as it passes `max` bytes. */
async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  if (declared !== null && !(Number(declared) <= max)) {
    await discard(res);
    throw new SealsigError('E_TRANSPORT', `descriptor store answered ${declared} bytes, over ${max}`);
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
      throw new SealsigError('E_TRANSPORT', `descriptor store answered over ${max} bytes`);
    }
    out.set(value, n);
    n += value.length;
  }
  return out.slice(0, n);
}
