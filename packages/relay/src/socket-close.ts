/**
 * How the relay closes a WebSocket so that the client reads the close code (PROTOCOL-RELAY.md §5).
 *
 * Destroying a socket that has unread input makes the kernel send a RST, and a RST makes the client's kernel
 * drop what the client has not read yet, the close frame included: a client busy sending (a flooder) would see
 * 1006, not the code it was closed with. So the relay sends the close frame, half-closes (FIN after the
 * frame), and then reads the input without parsing it, dropping every chunk, until the client closes its side
 * or a deadline passes; only then is the socket destroyed.
 *
 * An over-limit message is the exception: its input is not read at all (the frame header announced megabytes
 * the client has no business sending; reading them only to drop them costs the relay their size in memory
 * churn, which glibc does not all give back). The socket is paused and destroyed after CLOSE_GRACE_MS, ample
 * for a client whose event loop is free to read the 1009 that came first.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** How long a client refused at the upgrade, or one that sent an over-limit message, has to read its close frame. */
export const CLOSE_GRACE_MS = 1_000;
/** Longest a closed socket is read (its input dropped) while waiting for the client to close its side. */
export const MAX_CLOSE_DRAIN_MS = 10_000;

/** The TCP socket under a ws WebSocket (ws keeps it in a private field; undefined once ws let it go). */
function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/** §5 Sends the close frame, half-closes, drops the input until the client closes or `deadlineMs` passes. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string, deadlineMs: number): void {
  try {
    ws.close(code, reason);
  } catch {
    ws.terminate();
    return;
  }
  const socket = socketOf(ws);
  if (socket === undefined || socket.destroyed) return;
  socket.removeAllListeners('data'); // ws parses no more; in flowing mode without a listener, chunks are dropped
  socket.resume();
  socket.end();
  destroyBy(socket, deadlineMs);
}

/**
 * ws refused a frame (`code`: 1009 over-limit, 1002, 1007...): it has sent the close frame and half-closes,
 * and already drops the input unparsed. After an over-limit header the input is not read at all.
 */
export function afterProtocolError(ws: WebSocket, code: number): void {
  const socket = socketOf(ws);
  if (socket === undefined || socket.destroyed) return;
  if (code === 1009) {
    // ws resumes the socket on the next tick (lib/websocket.js receiverOnError); this pause comes after it.
    process.nextTick(() => socket.pause());
    destroyBy(socket, CLOSE_GRACE_MS);
  } else {
    destroyBy(socket, MAX_CLOSE_DRAIN_MS);
  }
}

/**
 * Calls `fn` when the client's close frame arrives, before ws answers it. ws has no public event for this (its
 * 'close' waits for the TCP connection to end); its receiver emits 'conclude' (lib/receiver.js, ws 8).
 */
export function onCloseFrame(ws: WebSocket, fn: () => void): void {
  (ws as unknown as { _receiver: EventEmitter })._receiver.once('conclude', fn);
}

function destroyBy(socket: Socket, ms: number): void {
  const timer = setTimeout(() => socket.destroy(), ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
