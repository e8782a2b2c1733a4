/**
 * Frames ws's receiver refuses (invalid UTF-8, a 2^53-byte length, a bad opcode), sent over a raw TCP
 * socket that did the WebSocket upgrade by hand: the client gets the close code ws sends, and /metrics
 * counts that same code (and a frame_too_large drop for an oversized length).
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../src/index.js';
import { wsErrorCloseCode } from '../src/ws-errors.js';
import { startRelay, waitFor } from './helpers.js';
import { closeCodeSent, frame, rawUpgrade } from './raw-client.js';

let relay: Relay | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await relay?.close();
  relay = undefined;
});

describe('protocol errors caught by ws', () => {
  it('counts invalid UTF-8 in a close frame and in a text message as 1007', async () => {
    const r = await startRelay({ retention: false });
    relay = r.relay;
    const port = relay.address!.port;
    const close = await rawUpgrade(port, sockets);
    close.socket.write(frame(0x8, Buffer.from([0x03, 0xe8, 0xff, 0xfe])));
    expect(await closeCodeSent(close)).toBe(1007);
    const text = await rawUpgrade(port, sockets);
    text.socket.write(frame(0x1, Buffer.from([0xc3, 0x28])));
    expect(await closeCodeSent(text)).toBe(1007);
    await waitFor(() => relay!.metrics().closes['1007'] === 2, 5_000, 'two 1007 closes counted');
    expect(relay.metrics().closes['1002']).toBeUndefined();
  });

  it('counts a 2^53-byte length header as 1009 and a frame_too_large drop', async () => {
    const r = await startRelay({ retention: false });
    relay = r.relay;
    const c = await rawUpgrade(relay.address!.port, sockets);
    // FIN + binary, masked, 64-bit length 2^53 (one above the largest ws accepts), then a mask key.
    c.socket.write(Buffer.from([0x82, 0x80 | 127, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(await closeCodeSent(c)).toBe(1009);
    await waitFor(() => relay!.metrics().closes['1009'] === 1, 5_000, 'the 1009 close counted');
    expect(relay.metrics().drops).toMatchObject({ frame_too_large: 1 });
    expect(relay.metrics().closes['1002']).toBeUndefined();
  });

  it('counts a bad opcode and an unmasked frame as 1002', async () => {
    const r = await startRelay({ retention: false });
    relay = r.relay;
    const port = relay.address!.port;
    const opcode = await rawUpgrade(port, sockets);
    opcode.socket.write(frame(0x3, Buffer.alloc(0)));
    expect(await closeCodeSent(opcode)).toBe(1002);
    const unmasked = await rawUpgrade(port, sockets);
    unmasked.socket.write(Buffer.from([0x82, 0x01, 0x03]));
    expect(await closeCodeSent(unmasked)).toBe(1002);
    await waitFor(() => relay!.metrics().closes['1002'] === 2, 5_000, 'two 1002 closes counted');
    expect(relay.metrics().drops.frame_too_large).toBeUndefined();
  });
});

describe('wsErrorCloseCode', () => {
  it('reads the status ws attached for a code it does not know, else answers 1002', () => {
    const withStatus = Object.assign(new Error('x'), { code: 'WS_ERR_SOMETHING_NEW', [Symbol('status-code')]: 1011 });
    expect(wsErrorCloseCode(withStatus)).toBe(1011);
    expect(wsErrorCloseCode(Object.assign(new Error('x'), { code: 'toString' }))).toBe(1002);
    expect(wsErrorCloseCode(Object.assign(new Error('x'), { [Symbol('status-code')]: 'nope' }))).toBe(1002);
    expect(wsErrorCloseCode(new Error('no code'))).toBe(1002);
  });
});
