/** A WebSocket client over a raw TCP socket that did the upgrade by hand: it sends what ws would refuse to. */
import { connect as tcpConnect, type Socket } from 'node:net';
import { expect } from 'vitest';
import { waitFor } from './helpers.js';

export interface RawClient {
  socket: Socket;
  /** Bytes received after the 101 response. */
  received(): Buffer;
  ended: Promise<void>;
}

/** Opens a TCP connection and performs the WebSocket upgrade by hand; `sockets` collects it (to destroy after a test). */
export async function rawUpgrade(port: number, sockets: Socket[]): Promise<RawClient> {
  const socket = tcpConnect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sealsig-relay.2\r\n\r\n',
  );
  await waitFor(() => buf.includes('\r\n\r\n'), 5_000, 'the 101 response');
  const head = buf.subarray(0, buf.indexOf('\r\n\r\n') + 4);
  expect(head.toString()).toMatch(/^HTTP\/1\.1 101 /);
  return { socket, received: () => buf.subarray(head.length), ended };
}

/** A masked client frame (zero mask key, so the payload goes out as is). */
export function frame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('short frames only');
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** The header of a masked binary frame (zero mask key) announcing `length` payload bytes (64-bit length). */
export function bigFrameHeader(length: number): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** The status code of the close frame the relay sent (after the binary messages it sent first: LIMITS, §3.5). */
export async function closeCodeSent(c: RawClient): Promise<number> {
  const closeAt = (): number | undefined => {
    const b = c.received();
    let at = 0;
    while (at + 2 <= b.length && b[at] === 0x82 && b[at + 1]! < 126) at += 2 + b[at + 1]!; // short unmasked binary frames
    return at + 4 <= b.length ? at : undefined;
  };
  await waitFor(() => closeAt() !== undefined, 5_000, 'a close frame');
  const at = closeAt()!;
  const b = c.received();
  expect(b[at]).toBe(0x88);
  return b.readUInt16BE(at + 2);
}
