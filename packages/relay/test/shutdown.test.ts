import { describe, expect, it } from 'vitest';
import { connect, startRelay } from './helpers.js';

describe('graceful shutdown', () => {
  it('turns /healthz 503, closes clients with 1012, refuses new ones, then resolves', async () => {
    const { relay, url, http } = await startRelay({ drainDelayMs: 300 });
    const a = await connect(url);
    const b = await connect(url);
    await a.subscribe('room');
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    const closing = relay.close();
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toBe('draining');
    const late = await connect(url);
    expect((await late.closed).code).toBe(1012);
    const [ca, cb] = await Promise.all([a.closed, b.closed]);
    expect(ca).toEqual({ code: 1012, reason: 'service restart' });
    expect(cb.code).toBe(1012);
    await closing;
    expect(relay.metrics().connections).toBe(0);
    await expect(fetch(`${http}/healthz`)).rejects.toThrow();
    await relay.close(); // idempotent
  });

  it('rejects bad options with a typed error', async () => {
    const { createRelay } = await import('../src/index.js');
    expect(() => createRelay({ maxFrameBytes: -1 })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    expect(() => createRelay({ admission: { secret: 'short' } })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    expect(() => createRelay({ redis: { url: 'http://x' } })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    const r = createRelay();
    await r.listen();
    await expect(r.listen()).rejects.toMatchObject({ code: 'E_STATE' });
    await r.close();
  });
});
