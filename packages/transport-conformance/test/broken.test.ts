/**
 * The suite can fail: deliberately broken adapters (wrapping core's memory network) run through the check
 * functions, and each check rejects with a ConformanceError that names the violation.
 */
import { createMemoryNetwork, SealsigError } from '@sealsig/core';
import type { FrameHandler, Transport } from '@sealsig/core';
import { describe, expect, it } from 'vitest';
import {
  ConformanceError,
  checkBurst,
  checkByteExact,
  checkClose,
  checkInvalidArguments,
  checkMultiTopic,
  checkSelfEcho,
  checkSessionEndToEnd,
  checkTopicIsolation,
  checkUnsubscribe,
  type ConformanceOptions,
} from '../src/index.js';

interface Faults {
  /** What the subscriber gets for the n-th delivered frame: [] drops it, two entries duplicate it. */
  deliver?: (frame: Uint8Array, n: number) => Uint8Array[];
  /** Delivers frames of every topic to every subscription. */
  leakTopics?: boolean;
  /** unsubscribe() does nothing. */
  stickySubscriptions?: boolean;
  /** Never validates arguments (the TypeError of a careless adapter). */
  noValidation?: boolean;
  /** close() forgets to update the state. */
  closeKeepsState?: boolean;
  /** Maps topics to channels cut to this many characters (an adapter that cannot carry long topics). */
  truncateTopics?: number;
  /** unsubscribe() of one topic drops every subscription of the instance. */
  unsubscribeDropsAll?: boolean;
  /** A subscription to s also receives topics that start with s + "_" (a careless wildcard mapping). */
  wildcardChildren?: boolean;
}

/** A memory transport with faults injected between the network and the subscriber. */
function broken(base: Transport, faults: Faults, network: { all: Set<FrameHandler>; children: Map<FrameHandler, string> }): Transport {
  let n = 0;
  const mine: (() => Promise<void>)[] = [];
  const channel = (topic: string) => (faults.truncateTopics === undefined ? topic : topic.slice(0, faults.truncateTopics));
  const wrap = (onFrame: FrameHandler): FrameHandler => (frame) => {
    for (const out of faults.deliver ? faults.deliver(frame, n++) : [frame]) onFrame(out);
  };
  return {
    get maxFrameBytes() {
      return base.maxFrameBytes;
    },
    get state() {
      return faults.closeKeepsState ? 'open' : base.state;
    },
    async subscribe(topic, onFrame) {
      if (faults.noValidation) (onFrame as unknown as { call: { name: string } }).call.name.toString(); // TypeError on bad handlers
      const handler = wrap(onFrame);
      if (faults.leakTopics) network.all.add(handler);
      if (faults.wildcardChildren) network.children.set(handler, topic);
      const unsubscribe = await base.subscribe(channel(topic), handler);
      mine.push(unsubscribe);
      if (faults.unsubscribeDropsAll) return async () => void (await Promise.all(mine.map((u) => u())));
      return faults.stickySubscriptions ? async () => undefined : unsubscribe;
    },
    async publish(topic, frame) {
      if (faults.noValidation) frame = Uint8Array.from(frame.subarray(0)); // TypeError on non-arrays
      if (faults.leakTopics) for (const h of network.all) h(frame.slice());
      for (const [h, s] of network.children) if (topic.startsWith(`${s}_`)) h(frame.slice());
      return base.publish(channel(topic), frame);
    },
    onStateChange: (l) => base.onStateChange(l),
    close: () => base.close(),
  };
}

function options(faults: Faults, extra: Partial<ConformanceOptions> = {}): ConformanceOptions {
  const net = createMemoryNetwork();
  const shared = { all: new Set<FrameHandler>(), children: new Map<FrameHandler, string>() };
  return {
    create: async () => broken(net.connect({ selfEcho: false }), faults, shared),
    selfEcho: false,
    oversize: 'error',
    deliveryTimeoutMs: 500,
    quietMs: 50,
    numRuns: 5,
    ...extra,
  };
}

async function failure(p: Promise<void>): Promise<ConformanceError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'the check passed a broken adapter').toBeDefined();
  // fast-check wraps the property's error; its message carries ours.
  expect(String((e as Error).message)).toMatch(/./);
  return e as ConformanceError;
}

describe('the checks reject broken adapters', () => {
  it('byte-exact: an adapter that flips a byte', async () => {
    const flip = (f: Uint8Array) => [f.length === 0 ? f : f.map((b, i) => (i === f.length >> 1 ? b ^ 0x20 : b))];
    const e = await failure(checkByteExact(options({ deliver: flip })));
    expect(e.message).toContain('a different frame arrived');
  });

  it('burst: an adapter that drops every 10th frame', async () => {
    const e = await failure(checkBurst(options({ deliver: (f, n) => (n % 10 === 9 ? [] : [f]) }), 200));
    expect(e.message).toMatch(/1000 frames|missing/);
  });

  it('burst: an adapter that duplicates a frame', async () => {
    const e = await failure(checkBurst(options({ deliver: (f, n) => (n === 500 ? [f, f.slice()] : [f]) })));
    expect(e.message).toContain('arrived twice');
  });

  it('topic isolation: an adapter that leaks frames across topics', async () => {
    const e = await failure(checkTopicIsolation(options({ leakTopics: true })));
    expect(e.message).toMatch(/received a frame published on|delivered/);
  });

  it('self-echo: an adapter that echoes while declaring selfEcho false', async () => {
    const net = createMemoryNetwork();
    const e = await failure(checkSelfEcho({ ...options({}), create: async () => net.connect({ selfEcho: true }) }));
    expect(e.message).toContain('received its own frame');
  });

  it("self-echo: an adapter that doesn't echo while declaring selfEcho true", async () => {
    const e = await failure(checkSelfEcho(options({}, { selfEcho: true })));
    expect(e.message).toContain('own frame');
  });

  it('multi-topic: an adapter that cuts topics to 44 characters (inboxes one character apart collide)', async () => {
    const e = await failure(checkMultiTopic(options({ truncateTopics: 44 })));
    expect(e.message).toMatch(/received a frame published on/);
  });

  it('multi-topic: an adapter whose route-tag subscription also takes its inboxes (a wildcard)', async () => {
    const e = await failure(checkMultiTopic(options({ wildcardChildren: true })));
    expect(e.message).toMatch(/received a frame published on/);
  });

  it('multi-topic: an adapter whose unsubscribe of one topic drops them all', async () => {
    const e = await failure(checkMultiTopic(options({ unsubscribeDropsAll: true })));
    expect(e.message).toMatch(/frames|got its/);
  });

  it('unsubscribe: an adapter whose unsubscribe does nothing', async () => {
    const e = await failure(checkUnsubscribe(options({ stickySubscriptions: true })));
    expect(e.message).toContain('after its subscription was removed');
  });

  it('close: an adapter whose state stays open', async () => {
    const e = await failure(checkClose(options({ closeKeepsState: true })));
    expect(e.message).toContain("not 'closed'");
  });

  it('close: an adapter that leaks a resource', async () => {
    let open = 0;
    const net = createMemoryNetwork();
    const e = await failure(checkClose({ ...options({}), create: async () => (open++, net.connect()), openResources: () => open }));
    expect(e.message).toContain('openResources()');
  });

  it('misuse: an adapter that throws TypeErrors', async () => {
    const e = await failure(checkInvalidArguments(options({ noValidation: true })));
    expect(e.message).toMatch(/TypeError|expected a SealsigError/);
  });

  it('end to end: an adapter that corrupts every direct frame (kind 4, the fourth byte)', async () => {
    const corrupt = (f: Uint8Array) => (f[3] === 4 ? [f.map((b, i) => (i === f.length - 1 ? b ^ 1 : b))] : [f]);
    const e = await failure(checkSessionEndToEnd(options({ deliver: corrupt })));
    // The lower member id initiates (core v2): if that is b, a's channel is never confirmed (the confirm is
    // a direct frame) and its offer fails with E_HANDSHAKE; if it is a, the offer never arrives.
    expect(e.message).toMatch(/waiting for a 'signal' event|E_HANDSHAKE/);
  });

  it('a SealsigError with the wrong code is not enough', async () => {
    const net = createMemoryNetwork();
    const wrongCode = (t: Transport): Transport =>
      Object.assign(Object.create(null) as Transport, {
        maxFrameBytes: t.maxFrameBytes,
        get state() {
          return t.state;
        },
        subscribe: t.subscribe.bind(t),
        publish: async () => {
          throw new SealsigError('E_TRANSPORT', 'nope');
        },
        onStateChange: t.onStateChange.bind(t),
        close: t.close.bind(t),
      });
    const e = await failure(checkInvalidArguments({ ...options({}), create: async () => wrongCode(net.connect()) }));
    expect(e.message).toContain('E_TRANSPORT');
  });
});
