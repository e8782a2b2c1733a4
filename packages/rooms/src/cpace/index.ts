/**
 * CPace (draft-irtf-cfrg-cpace), suite CPACE-RISTR255-SHA512, for password rooms, plus the member-side
 * AttemptLimiter. The low-level functions carry the draft's names so the vectors can be checked through them.
 */
export { cpaceReady } from './backend.js';
export { leb128, prependLen, lvCat, zeroBytes, lexiographicallyLarger, oCat } from './strings.js';
export {
  DSI,
  SHA512_S_IN_BYTES,
  FIELD_SIZE_BYTES,
  HASH_BYTES,
  IDENTITY,
  hash,
  generatorString,
  calculateGenerator,
  sampleScalar,
  scalarMult,
  scalarMultVfy,
} from './group.js';
export { transcriptIr, transcriptOc, deriveIsk, iskIr, iskSy, sidOutputIr, sidOutputOc } from './transcript.js';
export { encodeMessage, decodeMessage, MAX_AD_BYTES } from './message.js';
export type { CpaceMessage } from './message.js';
export {
  cpaceInitiator,
  cpaceResponder,
  cpaceSymmetric,
  passwordToPrs,
  MAX_PASSWORD_BYTES,
  MAX_CI_BYTES,
  MAX_SID_BYTES,
} from './protocol.js';
export type { CpaceOptions, CpaceParty, CpaceResult } from './protocol.js';
export { AttemptLimiter } from './attempts.js';
export type { AttemptLimiterOptions, AttemptTicket } from './attempts.js';
