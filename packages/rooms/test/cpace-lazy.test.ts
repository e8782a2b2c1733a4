/** The CPace primitives (ristretto255 from @noble/curves, see src/cpace/backend.ts) are loaded on first use, not at import time. */
import { expect, it } from 'vitest';
import { isSealsigError } from '@sealsig/core';
import { calculateGenerator, cpaceReady } from '../src/index.js';

it('the synchronous primitives refuse to run before cpaceReady(), then work', async () => {
  let caught: unknown;
  try {
    calculateGenerator(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0));
  } catch (e) {
    caught = e;
  }
  expect(isSealsigError(caught, 'E_INVALID_ARGUMENT')).toBe(true);
  const a = cpaceReady();
  expect(cpaceReady()).toBe(a); // loaded once
  await a;
  expect(calculateGenerator(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0)).length).toBe(32);
});
