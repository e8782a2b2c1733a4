/**
 * A session in a worker thread and one in the main thread complete a sealed offer/answer over
 * BroadcastChannel (Node 20's global BroadcastChannel crosses worker_threads).
 */
import type { Worker } from 'node:worker_threads';
import { createSessionId, joinSession, type SessionEvents } from '@sealsig/core';
import { describe, expect, it } from 'vitest';
import { createBroadcastChannelTransport } from '../src/index.js';
import { startWorker } from './worker-proxy.js';

function nextMessage<T>(worker: Worker, kind: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${kind}' from the worker within ${ms} ms`)), ms);
    const onMessage = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(m as T);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

describe('BroadcastChannel across worker_threads', () => {
  it('a session in a worker answers an offer from the main thread', async () => {
    const sessionId = createSessionId();
    const prefix = `worker-session-${process.pid}:`;
    const worker = startWorker(new URL('./fixtures/answerer.ts', import.meta.url), { sessionId, prefix });
    const transport = createBroadcastChannelTransport({ prefix });
    try {
      // The worker subscribes first: a BroadcastChannel message posted before its receiver exists is lost.
      const { id: workerId } = await nextMessage<{ id: string }>(worker, 'ready');
      const session = await joinSession({ sessionId, transport, heartbeatMs: 200 });
      const errors: string[] = [];
      session.on('error', (e) => errors.push(e.code));
      await new Promise<void>((resolve) => (session.peers.length ? resolve() : session.once('peer-joined', () => resolve())));
      expect(session.peers.map((p) => p.id)).toEqual([workerId]);

      const answer = new Promise<SessionEvents['signal']>((resolve) => session.once('signal', resolve));
      const answered = nextMessage<{ offer: string; from: string }>(worker, 'answered');
      await session.sendDescription(workerId, { type: 'offer', sdp: 'v=0 from main' });
      expect(await answered).toMatchObject({ offer: 'v=0 from main', from: session.id });
      const signal = await answer;
      expect(signal.from.id).toBe(workerId);
      expect(signal.description).toEqual({ type: 'answer', sdp: 'answer to v=0 from main' });
      expect(errors).toEqual([]);

      await session.close();
      worker.postMessage('close');
      await nextMessage(worker, 'closed');
    } finally {
      await transport.close();
      await worker.terminate();
    }
  });
});
