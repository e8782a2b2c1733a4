/**
 * What the canonical content encoder (canonical-encode.ts) and its strict decoder (canonical-decode.ts)
 * share (docs/PROTOCOL.md §5.1 Depth, §5.2): the depth bound, and the bounds of the timestamp's three forms.
 */

/**
 * The deepest a value may sit: the content array is at depth 1, and each element of an array or value of a
 * map one deeper than its container. So an app payload (depth 2) may hold containers down to depth 31 whose
 * elements sit at depth 32.
 */
export const MAX_CONTENT_DEPTH = 32;

/** §5.2 The largest sec of timestamp 32 (2^32 - 1), when nsec = 0. */
export const TIMESTAMP32_MAX_SEC = 0xffffffff;
/** §5.2 The largest sec of timestamp 64 (2^34 - 1); a sec below 0 or above this is timestamp 96. */
export const TIMESTAMP64_MAX_SEC = 0x3ffffffff;
/** §5.2 Nanoseconds per millisecond: a Date's nsec is a whole multiple of this. */
export const NS_PER_MS = 1e6;
