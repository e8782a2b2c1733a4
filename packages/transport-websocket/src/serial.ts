/**
 * PROTOCOL-RELAY.md §3.1: ACK and NACK name a PUBLISH by its number modulo 2^32; a client finds it among those
 * it holds by serial-number arithmetic (RFC 1982). The publisher counts its PUBLISHes without bound; this maps
 * a number from the wire back to that count.
 */
export const SEQ_MODULUS = 2 ** 32;
const HALF = 2 ** 31;

/**
 * §3.1 The count `n <= latest` with `n ≡ wire (mod 2^32)` and `latest - n < 2^31`: the PUBLISH the relay
 * names, given that `latest` PUBLISHes were sent. Undefined when no such one was sent (a number from more than
 * 2^31 PUBLISHes back or ahead of the last one, which a relay following §3.1 never sends).
 */
export function unwrapSeq(wire: number, latest: number): number | undefined {
  const behind = (((latest - wire) % SEQ_MODULUS) + SEQ_MODULUS) % SEQ_MODULUS;
  if (behind >= HALF) return undefined;
  const n = latest - behind;
  return n >= 0 ? n : undefined;
}
