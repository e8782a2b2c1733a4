/**
 * `GET /turn?token=<admission token>` (README.md "TURN credentials"): hands a client that holds a valid
 * admission token one short-lived TURN credential, as `{ iceServers: [{ urls, username, credential }], ttl }`
 * (the RTCConfiguration.iceServers shape, W3C WebRTC §4.2.1).
 *
 * The TURN `user` part is the token's topic (a family token's prefix, i.e. the route tag): it adds no identifier the relay and the TURN operator do not
 * already see, and it lets coturn's per-user limits (`user-quota`) act per session. Every member of a session
 * gets the same user part; the expiry makes their usernames differ over time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IpLimiter } from './descriptor-endpoint.js';
import { RelayError } from './errors.js';
import { originRefused, plain } from './http.js';
import type { RateLimit } from './rate-limit.js';
import { grantScope, verifyAdmissionToken } from './token.js';
import { createTurnCredentials, type TurnConfig } from './turn.js';

/** The JSON body of a 200 answer. */
export interface TurnResponse {
  /** One RTCIceServer with the credential. */
  iceServers: {
    /** TURN server URLs. */
    urls: string[];
    /** Time-limited user name. */
    username: string;
    /** Its HMAC credential. */
    credential: string;
  }[];
  /** Lifetime of the credential, in seconds. */
  ttl: number;
}

/** The relay's `turn` option, validated: the credentials' configuration and the endpoint's rate limit. */
export interface TurnEndpointOptions extends TurnConfig {
  /** Requests to /turn per client address. */
  rateLimit: RateLimit;
}

/** Outcomes counted in `sealsig_relay_turn_requests_total{result}` (a fixed set). */
export type TurnResult = 'issued' | 'rate_limited' | 'missing' | 'invalid' | 'expired' | 'origin' | 'method';

export interface TurnEndpointContext {
  turn: TurnEndpointOptions | undefined;
  admissionKey: Uint8Array | undefined;
  allowedOrigins: Set<string> | undefined;
  /** One token bucket per client address (present when `turn` is). */
  limiter: IpLimiter | undefined;
  count(result: TurnResult): void;
}

/**
 * Answers a request for `/turn` from client address `ip`. Bad requests get a status and a short reason, never
 * a throw. The rate limit comes first: every request costs a token check (BLAKE2b), a good one an HMAC too.
 */
export async function serveTurn(ctx: TurnEndpointContext, req: IncomingMessage, res: ServerResponse, ip: string): Promise<void> {
  const { turn, admissionKey, limiter } = ctx;
  if (turn === undefined || admissionKey === undefined || limiter === undefined) return plain(res, 404, 'not found');
  if (!limiter.take(ip, performance.now())) {
    ctx.count('rate_limited');
    // When the next request would be allowed (a full token at `perSecond`), in whole seconds.
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(1 / turn.rateLimit.perSecond))));
    return plain(res, 429, 'rate limited');
  }
  if (req.method !== 'GET') {
    ctx.count('method');
    res.setHeader('allow', 'GET');
    return plain(res, 405, 'method not allowed');
  }
  if (originRefused(ctx.allowedOrigins, req, res)) {
    ctx.count('origin');
    return plain(res, 403, 'origin not allowed');
  }
  const token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
  if (token === null || token === '') {
    ctx.count('missing');
    return plain(res, 401, 'admission token missing');
  }
  let topic: string;
  try {
    topic = grantScope(verifyAdmissionToken(token, admissionKey));
  } catch (e) {
    const expired = e instanceof RelayError && e.code === 'E_TOKEN_EXPIRED';
    ctx.count(expired ? 'expired' : 'invalid');
    return plain(res, 401, expired ? 'admission token expired' : 'admission token invalid');
  }
  const c = await createTurnCredentials({ secret: turn.secret, user: topic, ttlSeconds: turn.ttlSeconds, urls: turn.urls });
  ctx.count('issued');
  const body: TurnResponse = { iceServers: [{ urls: c.urls, username: c.username, credential: c.credential }], ttl: c.ttl };
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
