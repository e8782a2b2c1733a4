/**
 * joinSession (docs/PROTOCOL.md §6.2): a member joins once libsodium is loaded and its subscriptions are
 * confirmed, within a deadline and an AbortSignal of the app's.
 */
import { fail } from './errors.js';
import { Session } from './session.js';
import type { SessionOptions } from './session-types.js';
import { ready } from './sodium.js';

/**
 * Joins a session: derives its keys, subscribes to its route tag, announces this member. Rejects with
 * E_TIMEOUT after options.joinTimeoutMs, or E_ABORTED when options.signal aborts; the half-joined session is
 * then closed, so nothing is left subscribed.
 */
export async function joinSession(options: SessionOptions): Promise<Session> {
  const { signal } = options;
  const timeoutMs = options.joinTimeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw fail('E_INVALID_ARGUMENT', 'joinTimeoutMs must be a positive number');
  if (signal?.aborted) throw fail('E_ABORTED', 'join aborted');
  await ready();
  const session = new Session(options);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail('E_TIMEOUT', `joining took longer than ${timeoutMs} ms`)), timeoutMs);
    onAbort = () => reject(fail('E_ABORTED', 'join aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([session.start(), cut]);
    return session;
  } catch (e) {
    void session.close();
    throw e;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
