/** What the descriptor-store tests share: two ids, write tokens, and the outcome of a call as an error code. */
import { expect } from 'vitest';
import { isSealsigError } from '@sealsig/core';

export const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
export const ID2 = 'BBBBBBBBBBBBBBBBBBBBBB';
export const token = (n: number): Uint8Array => new Uint8Array(32).fill(n);

export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(isSealsigError(e)).toBe(true);
    return (e as { code: string }).code;
  }
}
