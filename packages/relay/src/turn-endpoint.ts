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
import { RelayError } from './errors.js';
import { originRefused, plain } from './http.js';
import { grantScope, verifyAdmissionToken } from './token.js';
import { createTurnCredentials, type TurnConfig } from './turn.js';

/** The JSON body of a 200 answer. */
export interface TurnResponse {
  iceServers: { urls: string[]; username: string; credential: string }[];
  ttl: number;
}

export interface TurnEndpointContext {
  turn: TurnConfig | undefined;
  admissionKey: Uint8Array | undefined;
  allowedOrigins: Set<string> | undefined;
}

/** Answers a request for `/turn`. Bad requests get a status and a short reason, never a throw. */
export async function serveTurn(ctx: TurnEndpointContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { turn, admissionKey } = ctx;
  if (turn === undefined || admissionKey === undefined) return plain(res, 404, 'not found');
  if (req.method !== 'GET') {
    res.setHeader('allow', 'GET');
    return plain(res, 405, 'method not allowed');
  }
  if (originRefused(ctx.allowedOrigins, req, res)) return plain(res, 403, 'origin not allowed');
  const token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
  if (token === null || token === '') return plain(res, 401, 'admission token missing');
  let topic: string;
  try {
    topic = grantScope(verifyAdmissionToken(token, admissionKey));
  } catch (e) {
    const expired = e instanceof RelayError && e.code === 'E_TOKEN_EXPIRED';
    return plain(res, 401, expired ? 'admission token expired' : 'admission token invalid');
  }
  const c = await createTurnCredentials({ secret: turn.secret, user: topic, ttlSeconds: turn.ttlSeconds, urls: turn.urls });
  const body: TurnResponse = { iceServers: [{ urls: c.urls, username: c.username, credential: c.credential }], ttl: c.ttl };
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
