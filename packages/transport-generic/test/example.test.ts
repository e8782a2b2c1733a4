/** Runs examples/socket-io.ts: a real socket.io server and two clients complete a sealed offer/answer. */
import { describe, expect, it } from 'vitest';
import { runExample } from '../examples/socket-io.js';

describe('examples/socket-io.ts', () => {
  it('completes a sealed offer/answer through an unchanged socket.io relay', async () => {
    const result = await runExample();
    expect(result.offer).toMatchObject({ type: 'offer', sdp: expect.stringContaining('o=alice') });
    expect(result.answer).toMatchObject({ type: 'answer', sdp: expect.stringContaining('o=bob') });
    expect(result.framesRelayed).toBeGreaterThanOrEqual(4); // hellos, a handshake, the two descriptions
  });
});
