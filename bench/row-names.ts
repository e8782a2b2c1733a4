/**
 * The names of the rows in bench/results/latest.json (docs/BENCHMARKS.md, "Reading latest.json"), shared by
 * the scripts that write rows and by bench/tables.ts, which renders them. The relay's rows are named in
 * bench/relay.ts ("relay ..." and "bare ws ...").
 */

// bench/run.ts
export const PIPELINE = 'pairwise pipeline';
export const PIPELINE_VS_WEBCRYPTO = 'pairwise pipeline (vs WebCrypto)';
export const BARE = 'bare libsodium AEAD seal+open';
export const WEBCRYPTO = 'y-webrtc-style WebCrypto AES-GCM';
export const BROADCAST = 'broadcast pipeline (signed)';
export const JOIN = 'joinSession (memory transport)';
export const PBKDF2 = 'y-webrtc-style PBKDF2 deriveKey';
export const HANDSHAKE = 'pairwise handshake (KKpsk0)';

// bench/rooms.ts
export const CPACE = 'rooms password check (CPace + confirmations, both sides)';
export const ROOM_JOIN = 'rooms join, open room (memory transport)';
export const ROOM_JOIN_PASSWORD = 'rooms join, password room (memory transport)';

// bench/broadcast-profile.ts
export const STAGE_SIGN = 'broadcast stage: Ed25519 sign (libsodium wasm)';
export const STAGE_VERIFY = 'broadcast stage: Ed25519 verify (libsodium wasm)';
export const STAGE_AEAD = 'broadcast stage: XChaCha20-Poly1305 seal+open';
export const STAGE_MSGPACK = 'broadcast stage: msgpack encode+decode';
export const ED25519_NODE = 'Ed25519 sign+verify, node:crypto (OpenSSL)';
export const ED25519_WEBCRYPTO = 'Ed25519 sign+verify, WebCrypto (awaited)';
export const BROADCAST_STAGES = [STAGE_SIGN, STAGE_VERIFY, STAGE_AEAD, STAGE_MSGPACK] as const;
export const ED25519_ALTERNATIVES = [ED25519_NODE, ED25519_WEBCRYPTO] as const;

/** Every row bench/run.ts writes (it replaces exactly these in latest.json). */
/** The rows of bench/run.ts measured in its rooms group (after the core group, not interleaved with it). */
export const ROOMS_ROWS: readonly string[] = [CPACE, ROOM_JOIN, ROOM_JOIN_PASSWORD];

export const RUN_ROWS: readonly string[] = [
  PIPELINE,
  PIPELINE_VS_WEBCRYPTO,
  BARE,
  WEBCRYPTO,
  BROADCAST,
  JOIN,
  PBKDF2,
  HANDSHAKE,
  CPACE,
  ROOM_JOIN,
  ROOM_JOIN_PASSWORD,
  ...BROADCAST_STAGES,
  ...ED25519_ALTERNATIVES,
];

// bench/growth.ts: one row per case and member count n (field `n`).
export const GROWTH_JOIN_AT_ONCE = 'growth: n members join at once';
export const GROWTH_JOIN_ONE_BY_ONE = 'growth: n members join one by one';
export const GROWTH_MESH = 'growth: full mesh of SDP offers';
export const GROWTH_IDLE = 'growth: one idle heartbeat period';
export const GROWTH_CASES = [GROWTH_JOIN_AT_ONCE, GROWTH_JOIN_ONE_BY_ONE, GROWTH_MESH, GROWTH_IDLE] as const;
export const isGrowthRow = (name: string): boolean => name.startsWith('growth');

// bench/rooms-growth.ts: one row per case and member count n (field `n`), and per label (field `label`).
export const ROOMS_GROWTH_FILL = 'rooms growth: an open room fills one by one';
export const ROOMS_GROWTH_KICK = 'rooms growth: a kick with rotation, right after the fill';
export const ROOMS_GROWTH_CASES = [ROOMS_GROWTH_FILL, ROOMS_GROWTH_KICK] as const;
export const isRoomsGrowthRow = (name: string): boolean => name.startsWith('rooms growth');

// bench/load-check.ts: the ratios of a quiet and a loaded run of bench/run.ts, one row per ratio row.
export const LOAD_PREFIX = 'load check: ';
export const isLoadCheckRow = (name: string): boolean => name.startsWith(LOAD_PREFIX);
