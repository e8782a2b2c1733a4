/**
 * The options of the conformance suite (docs/ADAPTERS.md §5). Adapter authors pass these to
 * transportConformance(); every check function takes the same object.
 */
import type { Transport } from '@sealsig/core';

/** What the suite needs of an adapter: a factory, and the adapter's properties and limits. */
export interface ConformanceOptions {
  /**
   * A fresh adapter instance connected to the same service as every other instance this factory made
   * (so two instances can exchange frames). Called several times per test.
   */
  create(): Promise<Transport>;
  /** Runs once before the suite (start a broker, a relay...). */
  setup?(): Promise<void>;
  /** Runs once after the suite. */
  teardown?(): Promise<void>;
  /** Whether a publisher receives its own frames on a topic it subscribed to. */
  selfEcho: boolean;
  /**
   * What publish() does with a frame larger than transport.maxFrameBytes: 'error' rejects with a
   * SealsigError E_FRAME_TOO_LARGE; 'chunked' means maxFrameBytes is the largest frame it carries whole
   * after its own chunking (then the suite checks the largest size is delivered byte-exact).
   */
  oversize: 'error' | 'chunked';
  /**
   * Breaks this instance's connection to the service the way a network failure would (kill the socket,
   * restart the broker...), for the reconnect tests; resolves once broken. Omit for adapters without a
   * connection (BroadcastChannel): the reconnect tests are then skipped, saying why.
   */
  disrupt?(transport: Transport): Promise<void>;
  /**
   * Resources this adapter holds open right now across every instance (sockets, listeners, timers), for
   * the "close() releases everything" test; omit to check only that close() settles and later calls fail.
   */
  openResources?(): number;
  /** Largest frame size the fast-check byte-exact property tries (default: min(maxFrameBytes, 64 KiB)). */
  maxPropertyBytes?: number;
  /** How long to wait for a delivery before failing (default 5000 ms); slow services may need more. */
  deliveryTimeoutMs?: number;
  /** Runs of the fast-check byte-exact property (default 20). */
  numRuns?: number;
  /**
   * How long the suite watches for a frame that must NOT arrive (self-echo off, topic isolation,
   * unsubscribe) after a frame published later did arrive (default 250 ms).
   */
  quietMs?: number;
  /**
   * For adapters whose transports declare `pacing`: frames the service has refused for their rate so far,
   * across every instance. The pacing check then requires that it refused none of a paced burst. Omit when the
   * service does not tell.
   */
  rateRefusals?(): number;
  /** Frames the pacing check publishes back to back (default 500): more than the service's burst, so some are held back. */
  pacedBurst?: number;
}

/** The options with their defaults filled in. */
export interface ResolvedOptions extends ConformanceOptions {
  deliveryTimeoutMs: number;
  numRuns: number;
  quietMs: number;
  pacedBurst: number;
}

/** The options with every default filled in. */
export function resolveOptions(options: ConformanceOptions): ResolvedOptions {
  return {
    ...options,
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? 5000,
    numRuns: options.numRuns ?? 20,
    quietMs: options.quietMs ?? 250,
    pacedBurst: options.pacedBurst ?? 500,
  };
}
