/**
 * `PUT /descriptors/<id>?ttl=<ms>` and `GET /descriptors/<id>` (README.md "Room descriptors",
 * docs/PROTOCOL.md §R7): the HTTP face of the descriptor table (src/descriptors.ts).
 *
 *   PUT, body = the sealed descriptor (raw bytes), `authorization: Sealsig <base64url write proof>`
 *     (src/descriptor-proof.ts; at most MAX_PROOF_BYTES, so at most 2,731 base64url characters)
 *     -> 204 stored; 400 bad id or ttl, a missing or malformed proof, or an old `Bearer` write token;
 *        403 the proof does not allow the write (or origin refused); 413 body too large;
 *        429 rate limited or table full; 408 body too slow;
 *        503 + `retry-after` the shared table (Redis, src/redis-descriptors.ts) cannot be reached.
 *   GET -> 200 application/octet-stream, or 404; 503 + `retry-after` as above.
 *   OPTIONS -> 204 CORS preflight (PUT with an authorization header is not a simple request).
 *
 * Every answer carries `cache-control: no-store`. The body is read with a hard byte cap: a declared
 * content-length over it is refused before reading, and a chunked body is cut off as soon as it passes it.
 * Bad requests get a status and a short reason, never a throw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DescriptorLimits, DescriptorStore, PutResult } from './descriptors.js';
import { DESCRIPTOR_ID, DescriptorsUnavailable } from './descriptors.js';
import { MAX_PROOF_BYTES } from './descriptor-proof.js';
import { TokenBucket, type RateLimit } from './rate-limit.js';
import { originRefused, plain } from './http.js';
import { fromB64u } from './token.js';

/** How long a client may take to send a descriptor body. */
const BODY_TIMEOUT_MS = 10_000;
/** Client addresses tracked by the per-IP limiter at once (idle ones are forgotten first). */
const MAX_TRACKED_IPS = 10_000;
const TTL = /^[0-9]{1,15}$/;
/** `retry-after` (seconds) on a 503 while the shared table cannot be reached. */
const RETRY_AFTER_S = 1;

export interface DescriptorEndpointOptions extends DescriptorLimits {
  /** Requests (PUT and GET) per client address. */
  rateLimit: RateLimit;
}

/** Outcomes counted in `sealsig_relay_descriptor_requests_total{result}` (a fixed set). */
export type DescriptorResult = PutResult | 'found' | 'not_found' | 'rate_limited' | 'timeout' | 'origin';

export interface DescriptorEndpointContext {
  table: DescriptorStore | undefined;
  limiter: IpLimiter | undefined;
  allowedOrigins: Set<string> | undefined;
  count(result: DescriptorResult): void;
}

/** One token bucket per client address, the set bounded: idle (refilled) buckets are forgotten first. */
export class IpLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; last: number }>();
  private readonly idleMs: number;
  constructor(private readonly limit: RateLimit) {
    this.idleMs = (limit.burst / limit.perSecond) * 1000;
  }

  take(ip: string, now: number): boolean {
    let b = this.buckets.get(ip);
    if (b === undefined) {
      if (this.buckets.size >= MAX_TRACKED_IPS) this.prune(now);
      b = { bucket: new TokenBucket(this.limit, now), last: now };
      this.buckets.set(ip, b);
    }
    b.last = now;
    return b.bucket.take(now);
  }

  private prune(now: number): void {
    for (const [ip, b] of this.buckets) if (now - b.last >= this.idleMs) this.buckets.delete(ip);
    // Every address active at once: forgetting them all lets each start over with a full bucket, which is
    // no worse than the limit it would have had as a new address.
    if (this.buckets.size >= MAX_TRACKED_IPS) this.buckets.clear();
  }
}

/** Answers a request for `/descriptors/...`. */
export async function serveDescriptors(
  ctx: DescriptorEndpointContext,
  req: IncomingMessage,
  res: ServerResponse,
  ip: string,
): Promise<void> {
  const { table, limiter } = ctx;
  if (table === undefined || limiter === undefined) return plain(res, 404, 'not found');
  if (originRefused(ctx.allowedOrigins, req, res)) {
    ctx.count('origin');
    return plain(res, 403, 'origin not allowed', req);
  }
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
      'cache-control': 'no-store',
    });
    res.end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'PUT') {
    res.setHeader('allow', 'GET, PUT, OPTIONS');
    return plain(res, 405, 'method not allowed', req);
  }
  const url = new URL(req.url ?? '/', 'http://relay');
  const id = url.pathname.slice('/descriptors/'.length);
  if (!url.pathname.startsWith('/descriptors/') || !DESCRIPTOR_ID.test(id)) {
    ctx.count('bad_request');
    return plain(res, 400, 'descriptor id must be 22 base64url characters', req);
  }
  if (!limiter.take(ip, performance.now())) {
    ctx.count('rate_limited');
    return plain(res, 429, 'rate limited', req);
  }
  if (req.method === 'GET') {
    let value: Uint8Array | undefined;
    try {
      value = await table.get(id, performance.now());
    } catch (e) {
      if (!(e instanceof DescriptorsUnavailable)) throw e;
      ctx.count('unavailable');
      return unavailable(res);
    }
    if (value === undefined) {
      ctx.count('not_found');
      return plain(res, 404, 'not found');
    }
    ctx.count('found');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': value.length, 'cache-control': 'no-store' });
    res.end(value);
    return;
  }

  const ttlText = url.searchParams.get('ttl');
  const ttlMs = ttlText !== null && TTL.test(ttlText) ? Number(ttlText) : 0;
  if (ttlMs < 1) {
    ctx.count('bad_request');
    return plain(res, 400, 'ttl must be a positive integer of ms', req);
  }
  const proof = writeProof(req.headers.authorization);
  if (typeof proof === 'string') {
    ctx.count('bad_request');
    return plain(res, 400, proof, req);
  }
  const body = await readBody(req, table.limits.maxBytes);
  if (body === 'too_large') {
    ctx.count('too_large');
    return plain(res, 413, `descriptor exceeds ${table.limits.maxBytes} bytes`, req);
  }
  if (body === 'timeout' || body === 'aborted') {
    ctx.count('timeout');
    return plain(res, 408, 'request body too slow', req);
  }
  const result = await table.put(id, body, proof, ttlMs, performance.now());
  ctx.count(result);
  switch (result) {
    case 'stored':
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
      return;
    case 'forbidden':
      return plain(res, 403, 'the write proof does not allow this put: not the bound key or a successor it certified, a bad signature, or a serial that is not newer');
    case 'full':
      return plain(res, 429, 'descriptor table is full');
    case 'too_large':
      return plain(res, 413, `descriptor exceeds ${table.limits.maxBytes} bytes`);
    case 'bad_request':
      return plain(res, 400, 'bad descriptor request: the id must be the canonical base64url of 16 bytes and the proof canonical msgpack');
    case 'unavailable':
      return unavailable(res);
  }
}

function unavailable(res: ServerResponse): void {
  res.setHeader('retry-after', String(RETRY_AFTER_S));
  plain(res, 503, 'descriptor store unavailable, try again');
}

/** Base64url characters of the longest proof. */
const MAX_PROOF_CHARS = Math.ceil((MAX_PROOF_BYTES * 4) / 3);

/** The proof bytes of `Sealsig <base64url>`, or why the header is refused (bounded before decoding). */
function writeProof(header: string | undefined): Uint8Array | string {
  const usage = 'authorization must be "Sealsig <base64url of the write proof>" (docs/PROTOCOL.md §R7)';
  if (header === undefined) return usage;
  if (header.startsWith('Bearer ')) return `write tokens are no longer accepted: ${usage}`;
  if (header.length > 'Sealsig '.length + MAX_PROOF_CHARS || !header.startsWith('Sealsig ')) return usage;
  const bytes = fromB64u(header.slice('Sealsig '.length)); // canonical base64url only
  return bytes === undefined || bytes.length === 0 ? usage : bytes;
}

/** Reads at most `max` bytes of body; stops reading as soon as it is over. */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | 'too_large' | 'timeout' | 'aborted'> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && (!/^[0-9]{1,15}$/.test(declared) || Number(declared) > max)) return Promise.resolve('too_large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = (r: Uint8Array | 'too_large' | 'timeout' | 'aborted'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      if (typeof r === 'string') req.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > max) return finish('too_large');
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(new Uint8Array(Buffer.concat(chunks, total)));
    const onAbort = (): void => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), BODY_TIMEOUT_MS);
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
  });
}
