/**
 * A DescriptorStore over @sealsig/relay's `/descriptors` endpoint (docs/PROTOCOL.md §R7; the relay's
 * README.md "Room descriptors"), with the global `fetch`:
 *
 *   put: `PUT <url>/descriptors/<id>?ttl=<ms>`, body = the sealed descriptor,
 *        `authorization: Sealsig <base64url write proof>` -> 204 (the relay checks the proof, §R7)
 *   get: `GET <url>/descriptors/<id>` -> 200 bytes, or 404 (undefined)
 *
 * Statuses map to SealsigError codes: 400 E_INVALID_ARGUMENT, 403 E_AUTH_FAILED, 413 E_FRAME_TOO_LARGE,
 * 429 E_RATE_LIMITED; a network failure, a timeout, a 5xx or any other answer is E_TRANSPORT. A GET answer
 * is read with a cap of DESCRIPTOR_MAX_BYTES: a longer one is E_TRANSPORT, never buffered whole.
 */
import { SealsigError, toBase64Url } from '@sealsig/core';
import { discard, httpClient, readCapped, type HttpOptions } from '../http.js';
import { DESCRIPTOR_MAX_BYTES, checkId, checkPut, type DescriptorStore } from './store.js';

/** Options of relayDescriptorStore(): the relay's base URL and HTTP settings. */
export type RelayDescriptorStoreOptions = HttpOptions;

const STATUS_CODES = {
  400: 'E_INVALID_ARGUMENT',
  403: 'E_AUTH_FAILED',
  413: 'E_FRAME_TOO_LARGE',
  429: 'E_RATE_LIMITED',
} as const;

/** A DescriptorStore on a sealsig relay's /descriptors endpoint. */
export function relayDescriptorStore(options: RelayDescriptorStoreOptions): DescriptorStore {
  const { endpoint: at, call } = httpClient(options, 'descriptor store');
  const endpoint = (id: string, query = ''): string => at(`descriptors/${id}${query}`);

  return {
    async put(id, value, opts) {
      checkPut(id, value, opts);
      const init: RequestInit = {
        method: 'PUT',
        body: value.slice(),
        headers: { authorization: `Sealsig ${toBase64Url(opts.proof)}`, 'content-type': 'application/octet-stream' },
      };
      await call(endpoint(id, `?ttl=${opts.ttlMs}`), init, async (res) => {
        await discard(res);
        if (res.status === 204 || res.status === 200) return;
        throw statusError(res.status, 'put');
      });
    },
    async get(id) {
      checkId(id);
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

