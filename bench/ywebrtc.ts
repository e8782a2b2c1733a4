/**
 * Baseline (b): a faithful re-implementation of what y-webrtc does today to encrypt its signaling
 * messages (yjs/y-webrtc src/crypto.js, as of its current master), in Node's globalThis.crypto.subtle.
 *
 *   deriveKey(secret, roomName)  PBKDF2-SHA-256, 100 000 iterations, salt = room name -> AES-GCM-256 key
 *   encryptJson(data, key)       lib0 writeAny(data) -> encrypt(bytes, key)
 *   encrypt(data, key)           iv = crypto.getRandomValues(12 bytes); await subtle.encrypt(AES-GCM);
 *                                lib0: writeVarString('AES-GCM'), writeVarUint8Array(iv), writeVarUint8Array(ct)
 *   decrypt(data, key)           lib0: readVarString, readVarUint8Array(iv), readVarUint8Array(ct);
 *                                await subtle.decrypt(AES-GCM) -> new Uint8Array(result)
 *   decryptJson(data, key)       decrypt(...) -> lib0 readAny(createDecoder(new Uint8Array(decrypted)))
 *
 * y-webrtc then base64-encodes the result into a JSON websocket message (publishSignalingMessage); that
 * step is left out here, as sealsig's transport adapters do their own wire encoding too.
 *
 * lib0 is not a dependency of this repository, so the few lib0/encoding and lib0/decoding functions used
 * are re-implemented below following lib0's code (an Encoder with a 100-byte first buffer that grows by
 * chaining buffers, toUint8Array concatenating them; a Decoder returning views for byte arrays).
 */

// --- lib0/encoding (the subset crypto.js uses) ------------------------------------------------------

class Encoder {
  cpos = 0;
  cbuf = new Uint8Array(100);
  bufs: Uint8Array[] = [];
}

const createEncoder = (): Encoder => new Encoder();

function encLength(encoder: Encoder): number {
  let len = encoder.cpos;
  for (const b of encoder.bufs) len += b.length;
  return len;
}

function toUint8Array(encoder: Encoder): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(encLength(encoder));
  let pos = 0;
  for (const d of encoder.bufs) {
    out.set(d, pos);
    pos += d.length;
  }
  out.set(new Uint8Array(encoder.cbuf.buffer, 0, encoder.cpos), pos);
  return out;
}

function write(encoder: Encoder, num: number): void {
  const bufferLen = encoder.cbuf.length;
  if (encoder.cpos === bufferLen) {
    encoder.bufs.push(encoder.cbuf);
    encoder.cbuf = new Uint8Array(bufferLen * 2);
    encoder.cpos = 0;
  }
  encoder.cbuf[encoder.cpos++] = num;
}

function writeVarUint(encoder: Encoder, num: number): void {
  while (num > 0x7f) {
    write(encoder, 0x80 | (0x7f & num));
    num = Math.floor(num / 128);
  }
  write(encoder, 0x7f & num);
}

function writeUint8Array(encoder: Encoder, arr: Uint8Array): void {
  const bufferLen = encoder.cbuf.length;
  const cpos = encoder.cpos;
  const leftCopyLen = Math.min(bufferLen - cpos, arr.length);
  const rightCopyLen = arr.length - leftCopyLen;
  encoder.cbuf.set(arr.subarray(0, leftCopyLen), cpos);
  encoder.cpos += leftCopyLen;
  if (rightCopyLen > 0) {
    encoder.bufs.push(encoder.cbuf);
    encoder.cbuf = new Uint8Array(Math.max(bufferLen * 2, rightCopyLen));
    encoder.cbuf.set(arr.subarray(leftCopyLen));
    encoder.cpos = rightCopyLen;
  }
}

function writeVarUint8Array(encoder: Encoder, arr: Uint8Array): void {
  writeVarUint(encoder, arr.byteLength);
  writeUint8Array(encoder, arr);
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** lib0's native path: the UTF-8 bytes as a var-length byte array. */
function writeVarString(encoder: Encoder, str: string): void {
  writeVarUint8Array(encoder, utf8Encoder.encode(str));
}

/** lib0 writeAny, for the value types a signaling message holds. */
function writeAny(encoder: Encoder, data: unknown): void {
  if (typeof data === 'string') {
    write(encoder, 119);
    writeVarString(encoder, data);
  } else if (data instanceof Uint8Array) {
    write(encoder, 116);
    writeVarUint8Array(encoder, data);
  } else if (data === null) {
    write(encoder, 126);
  } else if (typeof data === 'boolean') {
    write(encoder, data ? 120 : 121);
  } else if (Array.isArray(data)) {
    write(encoder, 117);
    writeVarUint(encoder, data.length);
    for (const x of data) writeAny(encoder, x);
  } else if (typeof data === 'object') {
    write(encoder, 118);
    const keys = Object.keys(data);
    writeVarUint(encoder, keys.length);
    for (const k of keys) {
      writeVarString(encoder, k);
      writeAny(encoder, (data as Record<string, unknown>)[k]);
    }
  } else if (typeof data === 'number' && Number.isInteger(data) && Math.abs(data) <= 0x7fffffff) {
    write(encoder, 125);
    writeVarInt(encoder, data);
  } else {
    throw new TypeError('ywebrtc baseline: value type not supported by this re-implementation');
  }
}

function writeVarInt(encoder: Encoder, num: number): void {
  let negative = false;
  if (num < 0) {
    num = -num;
    negative = true;
  }
  write(encoder, (num > 0x3f ? 0x80 : 0) | (negative ? 0x40 : 0) | (0x3f & num));
  num >>>= 6;
  while (num > 0) {
    write(encoder, (num > 0x7f ? 0x80 : 0) | (0x7f & num));
    num >>>= 7;
  }
}

// --- lib0/decoding (the subset crypto.js uses) ------------------------------------------------------

class Decoder {
  pos = 0;
  constructor(readonly arr: Uint8Array<ArrayBuffer>) {}
}

const createDecoder = (arr: Uint8Array<ArrayBuffer>): Decoder => new Decoder(arr);

function readUint8(decoder: Decoder): number {
  if (decoder.pos >= decoder.arr.length) throw new Error('Unexpected end of array');
  return decoder.arr[decoder.pos++]!;
}

function readVarUint(decoder: Decoder): number {
  let num = 0;
  let mult = 1;
  for (;;) {
    const r = readUint8(decoder);
    num += (r & 0x7f) * mult;
    mult *= 128;
    if (r < 0x80) return num;
    if (num > Number.MAX_SAFE_INTEGER) throw new Error('Integer out of range');
  }
}

function readVarInt(decoder: Decoder): number {
  let r = readUint8(decoder);
  let num = r & 0x3f;
  let mult = 64;
  const sign = (r & 0x40) > 0 ? -1 : 1;
  while (r & 0x80) {
    r = readUint8(decoder);
    num += (r & 0x7f) * mult;
    mult *= 128;
  }
  return sign * num;
}

/** A view (no copy), as lib0's readUint8Array. */
function readUint8Array(decoder: Decoder, len: number): Uint8Array<ArrayBuffer> {
  if (decoder.pos + len > decoder.arr.length) throw new Error('Unexpected end of array');
  const view = new Uint8Array(decoder.arr.buffer, decoder.arr.byteOffset + decoder.pos, len);
  decoder.pos += len;
  return view;
}

const readVarUint8Array = (decoder: Decoder): Uint8Array<ArrayBuffer> => readUint8Array(decoder, readVarUint(decoder));
const readVarString = (decoder: Decoder): string => utf8Decoder.decode(readVarUint8Array(decoder));

function readAny(decoder: Decoder): unknown {
  const t = readUint8(decoder);
  switch (t) {
    case 116:
      return readVarUint8Array(decoder);
    case 119:
      return readVarString(decoder);
    case 126:
      return null;
    case 120:
      return true;
    case 121:
      return false;
    case 125:
      return readVarInt(decoder);
    case 117: {
      const len = readVarUint(decoder);
      const out: unknown[] = [];
      for (let i = 0; i < len; i++) out.push(readAny(decoder));
      return out;
    }
    case 118: {
      const len = readVarUint(decoder);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < len; i++) out[readVarString(decoder)] = readAny(decoder);
      return out;
    }
    default:
      throw new Error(`ywebrtc baseline: lib0 type ${t} not supported by this re-implementation`);
  }
}

// --- y-webrtc src/crypto.js ---------------------------------------------------------------------------

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

export async function deriveKey(secret: string, roomName: string): Promise<CryptoKey> {
  const secretBuffer = utf8Encoder.encode(secret);
  const salt = utf8Encoder.encode(roomName);
  const keyMaterial = await subtle().importKey('raw', secretBuffer, 'PBKDF2', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'PBKDF2', salt, iterations: 100000, hash: 'SHA-256' },
    keyMaterial,
    { name: 'AES-GCM', length: 256 },
    true,
    ['encrypt', 'decrypt'],
  );
}

export async function encrypt(data: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const cipher = await subtle().encrypt({ name: 'AES-GCM', iv }, key, data);
  const encoder = createEncoder();
  writeVarString(encoder, 'AES-GCM');
  writeVarUint8Array(encoder, iv);
  writeVarUint8Array(encoder, new Uint8Array(cipher));
  return toUint8Array(encoder);
}

export function encryptJson(data: unknown, key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  const encoder = createEncoder();
  writeAny(encoder, data);
  return encrypt(toUint8Array(encoder), key);
}

export async function decrypt(data: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  const decoder = createDecoder(data);
  const algorithm = readVarString(decoder);
  if (algorithm !== 'AES-GCM') throw new Error('Unknown encryption algorithm');
  const iv = readVarUint8Array(decoder);
  const cipher = readVarUint8Array(decoder);
  return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv }, key, cipher));
}

export async function decryptJson(data: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<unknown> {
  const decrypted = await decrypt(data, key);
  return readAny(createDecoder(new Uint8Array(decrypted)));
}
