/**
 * The demo's "what the relay saw" entries: a frame as the relay handles it (docs/PROTOCOL.md §3: the clear
 * header, the route tag it travels on, the sealed body as hex) and the log columns that hold such entries.
 * Both views of the page use it: the two-tab session's relay column (demo.ts) and the room's (room-demo.ts).
 */
import { decodeFrame, FrameKind, toHex, type Transport } from '@sealsig/core';

const KIND_NAMES: Record<number, string> = {
  [FrameKind.broadcast]: 'broadcast',
  [FrameKind.handshakeInit]: 'noise-init',
  [FrameKind.handshakeResp]: 'noise-resp',
  [FrameKind.direct]: 'direct',
};

/** A log column keeps its last entries only: a busy room would otherwise grow the page without bound. */
export const LOG_ENTRIES = 400;

export const clock = (): string => new Date().toISOString().slice(11, 23);

/** Appends one entry (title line, then a pre block or `body`) to `box`, keeps it scrolled to the end, returns it. */
export function logEntry(box: HTMLElement, what: string, meta: string, body: string | HTMLElement): HTMLElement {
  const entry = document.createElement('div');
  entry.className = 'entry';
  const head = document.createElement('div');
  const w = document.createElement('span');
  w.className = 'what';
  w.textContent = what;
  const m = document.createElement('span');
  m.className = 'meta';
  m.textContent = `  ${meta}`;
  head.append(w, m);
  entry.append(head);
  if (typeof body === 'string') {
    const pre = document.createElement('pre');
    pre.textContent = body;
    entry.append(pre);
  } else entry.append(body);
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
  box.append(entry);
  while (box.childElementCount > LOG_ENTRIES) box.firstElementChild!.remove();
  if (atEnd) box.scrollTop = box.scrollHeight;
  return entry;
}

/**
 * One frame as the relay sees it, appended to `box` under the title `topic ...`: kind, size, sender and
 * recipient ids (named from `names`, hex member id to label, where this page knows them), counter, the clear
 * header, and the ciphertext, whole on demand. `direction` says which way it crossed the relay, if known.
 * Returns the entry; its title is the first `.what` element in it.
 */
export function logRelayFrame(box: HTMLElement, topic: string, frame: Uint8Array, names: ReadonlyMap<string, string>, direction = ''): HTMLElement {
  const body = document.createElement('div');
  let meta = `${frame.length} B`;
  let sealed = frame;
  try {
    const { header, ad, body: ciphertext } = decodeFrame(frame);
    const who = (id: Uint8Array | null) => {
      if (id === null) return 'everyone';
      const h = toHex(id);
      return `${h.slice(0, 8)}${names.has(h) ? ` (${names.get(h)})` : ''}`;
    };
    meta = `${KIND_NAMES[header.kind] ?? '?'}  ${frame.length} B  ${who(header.sender)} -> ${who(header.recipient)}  ctr ${header.counter}`;
    const clear = document.createElement('pre');
    clear.className = 'meta';
    clear.textContent = `header (clear, ${ad.length} B): ${toHex(ad.subarray(0, 24))}...`;
    body.append(clear);
    sealed = ciphertext;
  } catch {
    meta += '  (not a sealsig frame)';
  }
  const preview = document.createElement('pre');
  preview.className = 'hex';
  preview.textContent = `ciphertext (${sealed.length} B): ${toHex(sealed.subarray(0, 48))}${sealed.length > 48 ? '...' : ''}`;
  body.append(preview);
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = `the whole frame, ${frame.length} bytes`;
  const full = document.createElement('pre');
  full.className = 'hex';
  details.append(summary, full);
  details.addEventListener('toggle', () => (full.textContent ||= toHex(frame)), { once: true });
  body.append(details);
  return logEntry(box, `${direction}topic ${topic}`, `${clock()}  ${meta}`, body);
}

/**
 * `transport`, with every frame it publishes and every frame the relay delivers to it passed to `see` first:
 * what the relay carried for this page. The relay never echoes a frame to the connection that published it
 * (PROTOCOL-RELAY.md), so each frame is seen once.
 */
export function watchTransport(transport: Transport, see: (direction: 'out' | 'in', topic: string, frame: Uint8Array) => void): Transport {
  const watched: Transport = {
    get maxFrameBytes() {
      return transport.maxFrameBytes;
    },
    get state() {
      return transport.state;
    },
    subscribe: (topic, onFrame) =>
      transport.subscribe(topic, (frame) => {
        see('in', topic, frame);
        onFrame(frame);
      }),
    publish: (topic, frame) => {
      see('out', topic, frame);
      return transport.publish(topic, frame);
    },
    onStateChange: (listener) => transport.onStateChange(listener),
    close: () => transport.close(),
  };
  const onGap = transport.onGap?.bind(transport);
  if (onGap) watched.onGap = onGap;
  return watched;
}
