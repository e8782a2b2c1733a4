/**
 * Transports whose adapter runs in a worker thread (fixtures/host.ts): a Transport in the main thread
 * that forwards every call to the worker and every frame back. Two proxies on different workers exchange
 * frames through BroadcastChannel across threads.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SealsigError } from '@sealsig/core';
import type { FrameHandler, Transport, TransportState, Unsubscribe } from '@sealsig/core';
import type { Message, Request } from './fixtures/host.js';

type Pending = { resolve: (m: Extract<Message, { kind: 'reply' }>) => void };
type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Starts a Node worker running a TypeScript file of this package, with the `source` export condition so
 * workspace packages resolve to their sources. `--import tsx` in a worker's execArgv does not take effect
 * on Node 20, so the worker registers tsx's ESM hooks itself (tsx/esm/api, by path: its CJS variant would
 * be picked from here) before it imports the file.
 */
export function startWorker(file: URL, workerData?: unknown): Worker {
  const tsxDir = createRequire(import.meta.url).resolve('tsx/package.json').replace(/package\.json$/, '');
  const api = pathToFileURL(`${tsxDir}dist/esm/api/index.mjs`).href;
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => (register(), import(${JSON.stringify(file.href)})))`;
  return new Worker(boot, { eval: true, workerData, execArgv: ['--conditions=source'] });
}

export class WorkerHost {
  readonly worker: Worker;
  #nextId = 0;
  #pending = new Map<number, Pending>();
  #frames = new Map<number, FrameHandler>();
  #states = new Map<number, (state: TransportState) => void>();
  static #nextSub = 0;
  static #nextTid = 0;

  constructor() {
    this.worker = startWorker(new URL('./fixtures/host.ts', import.meta.url));
    this.worker.on('message', (m: Message) => {
      if (m.kind === 'reply') {
        this.#pending.get(m.id)?.resolve(m);
        this.#pending.delete(m.id);
      } else if (m.kind === 'frame') this.#frames.get(m.sub)?.(m.frame);
      else this.#states.get(m.tid)?.(m.state as TransportState);
    });
    // A dead worker fails the calls waiting on it instead of hanging the test.
    const fail = (why: string) => {
      for (const p of this.#pending.values()) p.resolve({ kind: 'reply', id: -1, error: { name: 'Error', message: why } });
      this.#pending.clear();
    };
    this.worker.on('error', (e) => fail(`worker failed: ${String(e)}`));
    this.worker.on('exit', (code) => fail(`worker exited with code ${code}`));
  }

  async call(req: Call): Promise<Extract<Message, { kind: 'reply' }>> {
    const id = this.#nextId++;
    const reply = new Promise<Extract<Message, { kind: 'reply' }>>((resolve) => this.#pending.set(id, { resolve }));
    this.worker.postMessage({ ...req, id });
    const m = await reply;
    if (m.error) throw m.error.name === 'SealsigError' ? new SealsigError(m.error.code as 'E_TRANSPORT', m.error.message) : new Error(m.error.message);
    return m;
  }

  async create(prefix: string): Promise<Transport> {
    const tid = WorkerHost.#nextTid++;
    const { maxFrameBytes } = await this.call({ op: 'create', tid, prefix });
    let state: TransportState = 'open';
    const listeners = new Set<(s: TransportState) => void>();
    this.#states.set(tid, (s) => {
      state = s;
      for (const l of [...listeners]) l(s);
    });
    return {
      maxFrameBytes: maxFrameBytes!,
      get state() {
        return state;
      },
      subscribe: async (topic, onFrame) => {
        const sub = WorkerHost.#nextSub++;
        if (typeof onFrame === 'function') this.#frames.set(sub, onFrame);
        await this.call({ op: 'subscribe', tid, sub, topic, handler: typeof onFrame === 'function' ? 'function' : onFrame });
        const unsubscribe: Unsubscribe = async () => {
          this.#frames.delete(sub);
          await this.call({ op: 'unsubscribe', tid, sub });
        };
        return unsubscribe;
      },
      publish: (topic, frame) => this.call({ op: 'publish', tid, topic, frame }).then(() => undefined),
      onStateChange: (l) => (listeners.add(l), () => void listeners.delete(l)),
      close: () => this.call({ op: 'close', tid }).then(() => undefined),
    };
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
