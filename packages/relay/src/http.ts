/** Small pieces the relay's HTTP endpoints share (/turn, /descriptors): short text answers, Origin and CORS. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A short text answer. With `req` given (an answer sent before the body was read), the connection is closed
 * once the answer is out, so a client still sending gets no more of the relay's time.
 */
export function plain(res: ServerResponse, status: number, text: string, req?: IncomingMessage): void {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
  const unread = req !== undefined && req.method === 'PUT' && !req.complete;
  if (unread) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
  if (unread) res.once('finish', () => req.destroy());
}

/**
 * True when the request's Origin is not on the allow-list. Otherwise sets the CORS headers: browsers call
 * these endpoints cross-origin, and since no cookie is involved (tokens ride in the URL or a header the page
 * sets), allowing any origin when no allow-list is set grants nothing extra.
 */
export function originRefused(allowed: Set<string> | undefined, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  if (allowed !== undefined && origin !== undefined && !allowed.has(origin)) return true;
  res.setHeader('access-control-allow-origin', allowed !== undefined && origin !== undefined ? origin : '*');
  res.setHeader('vary', 'origin');
  return false;
}
