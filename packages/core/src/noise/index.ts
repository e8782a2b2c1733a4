/** The Noise Protocol Framework layer (rev. 34): Noise_*_25519_ChaChaPoly_BLAKE2b with psk modifiers (§9). */
export { CipherState, NOISE_MAX_NONCE } from './cipher-state.js';
export { SymmetricState } from './symmetric-state.js';
export { parsePatternName } from './patterns.js';
export type { HandshakePattern, PreToken, Token } from './patterns.js';
export { HandshakeState, NOISE_MAX_MESSAGE, NOISE_PROTOCOL_SUFFIX, NOISE_PSK_BYTES } from './handshake-state.js';
export type { HandshakeOptions, ReadResult, WriteResult } from './handshake-state.js';
