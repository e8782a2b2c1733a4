/**
 * Serves files from one directory (the demo page): GET/HEAD only, a fixed content-type table, no directory
 * listing, and no escape from the root (`..`, encoded slashes, NUL bytes and symlinks out of the root are
 * all refused with 404).
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Returns true when it answered the request (found, or refused), false when the path is not a file. */
export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const rawPath = (req.url ?? '/').split('?')[0]!;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  if (path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) return false;
  if (path.endsWith('/')) path += 'index.html';
  const realRoot = await realpath(resolve(root));
  let file: string;
  try {
    file = await realpath(join(realRoot, path));
  } catch {
    return false;
  }
  if (!file.startsWith(realRoot + sep)) return false;
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) return false;
  res.writeHead(200, {
    'content-type': contentType(file),
    'content-length': info.size,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
  return true;
}
