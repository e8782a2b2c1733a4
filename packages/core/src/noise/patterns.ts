/**
 * Noise handshake patterns as data (Noise Protocol Framework rev. 34, §7), and the "psk" modifiers (§9.2).
 *
 * Every pattern here alternates directions starting with the initiator (§7.1: "->" first), so a message's
 * direction is implied by its index: even indices are written by the initiator, odd ones by the responder.
 */
import { fail } from '../errors.js';

/** §7.1 message tokens, plus "psk" (§9.1). */
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

/** §7.1 pre-message tokens: a pre-message is empty, "e", "s" or "e, s". */
export type PreToken = 'e' | 's';

/** §7.1 a handshake pattern: the two pre-message patterns and the message patterns, in order. */
export interface HandshakePattern {
  /** The pattern's name with its modifiers, e.g. "KKpsk0". */
  readonly name: string;
  /** Pre-message pattern for the initiator ("-> s" before "..."). */
  readonly initiatorPreMessage: readonly PreToken[];
  /** Pre-message pattern for the responder ("<- s" before "..."). */
  readonly responderPreMessage: readonly PreToken[];
  /** Message patterns; index 0 is "->", index 1 is "<-", and so on. */
  readonly messages: readonly (readonly Token[])[];
  /** §7.4: one-way patterns have a single message, and only the initiator sends transport messages. */
  readonly oneWay: boolean;
}

function pattern(
  name: string,
  initiatorPreMessage: PreToken[],
  responderPreMessage: PreToken[],
  messages: Token[][],
  oneWay = false,
): HandshakePattern {
  return { name, initiatorPreMessage, responderPreMessage, messages, oneWay };
}

/** §7.4 one-way handshake patterns. */
export const ONE_WAY_PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  N: pattern('N', [], ['s'], [['e', 'es']], true),
  K: pattern('K', ['s'], ['s'], [['e', 'es', 'ss']], true),
  X: pattern('X', [], ['s'], [['e', 'es', 's', 'ss']], true),
};

/** §7.5 interactive handshake patterns (fundamental). */
export const FUNDAMENTAL_PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  NN: pattern('NN', [], [], [['e'], ['e', 'ee']]),
  NK: pattern('NK', [], ['s'], [['e', 'es'], ['e', 'ee']]),
  NX: pattern('NX', [], [], [['e'], ['e', 'ee', 's', 'es']]),
  XN: pattern('XN', [], [], [['e'], ['e', 'ee'], ['s', 'se']]),
  XK: pattern('XK', [], ['s'], [['e', 'es'], ['e', 'ee'], ['s', 'se']]),
  XX: pattern('XX', [], [], [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']]),
  KN: pattern('KN', ['s'], [], [['e'], ['e', 'ee', 'se']]),
  KK: pattern('KK', ['s'], ['s'], [['e', 'es', 'ss'], ['e', 'ee', 'se']]),
  KX: pattern('KX', ['s'], [], [['e'], ['e', 'ee', 'se', 's', 'es']]),
  IN: pattern('IN', [], [], [['e', 's'], ['e', 'ee', 'se']]),
  IK: pattern('IK', [], ['s'], [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']]),
  IX: pattern('IX', [], [], [['e', 's'], ['e', 'ee', 'se', 's', 'es']]),
};

/** §7.6 interactive handshake patterns (deferred); the full list is in the spec's appendix (§18.1). */
export const DEFERRED_PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  NK1: pattern('NK1', [], ['s'], [['e'], ['e', 'ee', 'es']]),
  NX1: pattern('NX1', [], [], [['e'], ['e', 'ee', 's'], ['es']]),
  X1N: pattern('X1N', [], [], [['e'], ['e', 'ee'], ['s'], ['se']]),
  X1K: pattern('X1K', [], ['s'], [['e', 'es'], ['e', 'ee'], ['s'], ['se']]),
  XK1: pattern('XK1', [], ['s'], [['e'], ['e', 'ee', 'es'], ['s', 'se']]),
  X1K1: pattern('X1K1', [], ['s'], [['e'], ['e', 'ee', 'es'], ['s'], ['se']]),
  X1X: pattern('X1X', [], [], [['e'], ['e', 'ee', 's', 'es'], ['s'], ['se']]),
  XX1: pattern('XX1', [], [], [['e'], ['e', 'ee', 's'], ['es', 's', 'se']]),
  X1X1: pattern('X1X1', [], [], [['e'], ['e', 'ee', 's'], ['es', 's'], ['se']]),
  K1N: pattern('K1N', ['s'], [], [['e'], ['e', 'ee'], ['se']]),
  K1K: pattern('K1K', ['s'], ['s'], [['e', 'es'], ['e', 'ee'], ['se']]),
  KK1: pattern('KK1', ['s'], ['s'], [['e'], ['e', 'ee', 'se', 'es']]),
  K1K1: pattern('K1K1', ['s'], ['s'], [['e'], ['e', 'ee', 'es'], ['se']]),
  K1X: pattern('K1X', ['s'], [], [['e'], ['e', 'ee', 's', 'es'], ['se']]),
  KX1: pattern('KX1', ['s'], [], [['e'], ['e', 'ee', 'se', 's'], ['es']]),
  K1X1: pattern('K1X1', ['s'], [], [['e'], ['e', 'ee', 's'], ['se', 'es']]),
  I1N: pattern('I1N', [], [], [['e', 's'], ['e', 'ee'], ['se']]),
  I1K: pattern('I1K', [], ['s'], [['e', 'es', 's'], ['e', 'ee'], ['se']]),
  IK1: pattern('IK1', [], ['s'], [['e', 's'], ['e', 'ee', 'se', 'es']]),
  I1K1: pattern('I1K1', [], ['s'], [['e', 's'], ['e', 'ee', 'es'], ['se']]),
  I1X: pattern('I1X', [], [], [['e', 's'], ['e', 'ee', 's', 'es'], ['se']]),
  IX1: pattern('IX1', [], [], [['e', 's'], ['e', 'ee', 'se', 's'], ['es']]),
  I1X1: pattern('I1X1', [], [], [['e', 's'], ['e', 'ee', 's'], ['se', 'es']]),
};

/** §7.4-§7.6: the 38 base patterns by name. */
export const BASE_PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  ...ONE_WAY_PATTERNS,
  ...FUNDAMENTAL_PATTERNS,
  ...DEFERRED_PATTERNS,
};

/**
 * §9.2 applies the "pskN" modifiers to a base pattern: psk0 puts "psk" at the start of the first message;
 * pskN (N >= 1) appends "psk" to the end of message N (counting from 1). Modifiers are applied in the order
 * given; each may appear once.
 */
export function applyPskModifiers(base: HandshakePattern, modifiers: readonly string[]): HandshakePattern {
  const messages = base.messages.map((m) => [...m]);
  const seen = new Set<number>();
  for (const modifier of modifiers) {
    const match = /^psk(0|[1-9][0-9]*)$/.exec(modifier);
    if (match === null) throw fail('E_INVALID_ARGUMENT', `unsupported Noise pattern modifier "${modifier}"`);
    const n = Number(match[1]);
    if (seen.has(n)) throw fail('E_INVALID_ARGUMENT', `Noise modifier "${modifier}" given twice`);
    seen.add(n);
    if (n === 0) {
      messages[0]!.unshift('psk');
    } else {
      const message = messages[n - 1];
      if (message === undefined) {
        throw fail('E_INVALID_ARGUMENT', `"${modifier}": pattern ${base.name} has only ${messages.length} message(s)`);
      }
      message.push('psk');
    }
  }
  const name = modifiers.length === 0 ? base.name : `${base.name}${modifiers.join('+')}`;
  return { ...base, name, messages };
}

/**
 * §8 / §9.2 parses a pattern name with optional psk modifiers: "XX", "KKpsk0", "NNpsk0+psk2".
 * Throws E_INVALID_ARGUMENT for an unknown base pattern or modifier.
 */
export function parsePatternName(name: string): HandshakePattern {
  const match = /^([A-Z][A-Z0-9]*?)(psk.*)?$/.exec(name);
  const base = match === null ? undefined : BASE_PATTERNS[match[1]!];
  if (match === null || base === undefined || !Object.hasOwn(BASE_PATTERNS, match[1]!)) {
    throw fail('E_INVALID_ARGUMENT', `unknown Noise handshake pattern "${name}"`);
  }
  const modifiers = match[2] === undefined ? [] : match[2].split('+');
  return applyPskModifiers(base, modifiers);
}

/** Whether a pattern contains any "psk" token (§9.2: then "e" tokens also call MixKey). */
export function isPskPattern(p: HandshakePattern): boolean {
  return p.messages.some((m) => m.includes('psk'));
}
