/**
 * TURN credentials from @sealsig/relay's `GET /turn?token=<admission token>` (the relay's README.md "TURN
 * credentials": coturn REST API, use-auth-secret), for the moderator to hand members sealed inside the room
 * (docs/PROTOCOL.md §R5 "ICE servers"). The signaling frames never carry them in clear.
 *
 * Statuses: 401 E_ACCESS_DENIED (token missing, invalid or expired), 404 E_TRANSPORT (the relay serves no
 * TURN), other failures E_TRANSPORT; an answer that is not `{ iceServers: [...], ttl }` is E_FRAME_MALFORMED.
 */
import { SealsigError } from '@sealsig/core';
import { discard, httpClient, readCapped, type HttpOptions } from './http.js';
import { copyIceServers, type IceServer } from './wire.js';

/** Options of relayTurnCredentials(): the relay URL and an admission token. */
export interface TurnCredentialOptions extends HttpOptions {
  /** An admission token the relay issued (its `createAdmissionToken`). */
  token: string;
}

const MAX_ANSWER_BYTES = 8192;

/** Fetches one short-lived TURN credential set: `{ iceServers, ttl }` (ttl in seconds). */
export async function relayTurnCredentials(options: TurnCredentialOptions): Promise<{
  /** RTCIceServers with the TURN credential. */
  iceServers: IceServer[];
  /** Lifetime of the credential, seconds. */
  ttl: number;
}> {
  if (typeof options?.token !== 'string' || options.token.length === 0) throw new SealsigError('E_INVALID_ARGUMENT', 'token must be a non-empty string');
  const { endpoint, call } = httpClient(options, 'TURN credential');
  const body = await call(`${endpoint('turn')}?token=${encodeURIComponent(options.token)}`, { method: 'GET' }, async (res) => {
    if (res.status !== 200) {
      await discard(res);
      if (res.status === 401) throw new SealsigError('E_ACCESS_DENIED', 'the relay refused the admission token');
      throw new SealsigError('E_TRANSPORT', `the relay answered HTTP ${res.status} for /turn`);
    }
    return readCapped(res, MAX_ANSWER_BYTES);
  });
  let v: { iceServers?: unknown; ttl?: unknown };
  try {
    v = JSON.parse(new TextDecoder().decode(body)) as typeof v;
  } catch (e) {
    throw new SealsigError('E_FRAME_MALFORMED', '/turn did not answer JSON', { cause: e });
  }
  if (!Array.isArray(v?.iceServers) || typeof v.ttl !== 'number' || !Number.isSafeInteger(v.ttl) || v.ttl < 1) {
    throw new SealsigError('E_FRAME_MALFORMED', '/turn answered an unexpected shape');
  }
  return { iceServers: copyIceServers(v.iceServers as IceServer[]), ttl: v.ttl };
}
