/**
 * Reconnecting relay-protocol clients for the fault tests (redis-cluster-faults.test.ts), counting where
 * duplicates and gaps are visible: at the protocol (sealsig core would drop duplicates before the app).
 *
 * - Publisher: sends `<name>:<n>` frames, paced (one PUBLISH per tick, a refused or unacknowledged frame before
 *   a new one, so that it stays within the relay's rate limit whatever the fault); a frame is accepted once an
 *   ACK covers it; NACKed frames, and frames unacknowledged when the connection dropped, are sent again (on the
 *   next node of its list after a drop).
 * - Subscriber: subscribes one topic, resumes from its last position on the next node after a drop, and
 *   records every DELIVER (epoch and offset), the offsets delivered twice, and gaps (a resume without
 *   RECOVERED, or a DELIVER of another epoch).
 */
import { WebSocket } from 'ws';
import type { Position } from '../src/engine.js';
import { SUBPROTOCOL, decodeOutbound, encodePublish, encodeSubscribe, type Outbound } from '../src/protocol.js';

const RECONNECT_MS = 100;

/** A WebSocket to urls[i % n] that reconnects to the next URL whenever it drops, until stop(). */
class Link {
  private ws: WebSocket | undefined;
  private index: number;
  stopped = false;
  /** Close codes of the connections that dropped. */
  readonly closes: number[] = [];

  constructor(
    private readonly urls: string[],
    first: number,
    private readonly onOpen: (ws: WebSocket) => void,
    private readonly onMessage: (m: Outbound) => void,
    private readonly onDrop: () => void,
  ) {
    this.index = first;
    this.open();
  }

  get current(): WebSocket | undefined {
    return this.ws?.readyState === WebSocket.OPEN ? this.ws : undefined;
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }

  private open(): void {
    const ws = new WebSocket(this.urls[this.index % this.urls.length]!, [SUBPROTOCOL]);
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data: Buffer) => this.onMessage(decodeOutbound(new Uint8Array(data))));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.closes.push(code);
      this.onDrop();
      if (this.stopped) return;
      this.index++;
      setTimeout(() => !this.stopped && this.open(), RECONNECT_MS);
    });
  }
}

export class Publisher {
  /** Frames an ACK covered. */
  readonly accepted = new Set<string>();
  nacks = 0;
  private n = 0;
  private seq = 0;
  /** On the current connection: PUBLISH seq -> frame, not settled yet. */
  private readonly unacked = new Map<number, string>();
  /** Frames to send again (NACKed, or unacknowledged when a connection dropped). */
  private readonly retry: string[] = [];
  private publishing = true;
  private readonly timer: NodeJS.Timeout;
  private readonly link: Link;

  constructor(
    urls: string[],
    first: number,
    private readonly topic: string,
    readonly name: string,
    intervalMs = 10,
  ) {
    this.link = new Link(
      urls,
      first,
      () => (this.seq = 0),
      (m) => this.onMessage(m),
      () => {
        this.retry.push(...this.unacked.values());
        this.unacked.clear();
      },
    );
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  /** Frames not settled yet (sent and unacknowledged, or waiting to be sent again). */
  get outstanding(): number {
    return this.unacked.size + this.retry.length;
  }

  /** Stops sending new frames; what is outstanding is still sent until acknowledged. */
  stopPublishing(): void {
    this.publishing = false;
  }

  close(): void {
    clearInterval(this.timer);
    this.link.stop();
  }

  private tick(): void {
    const ws = this.link.current;
    if (ws === undefined) return;
    // One PUBLISH per tick; while frames wait for their ACK beyond a small window, nothing new.
    const key = this.retry.shift() ?? (this.publishing && this.unacked.size < 64 ? `${this.name}:${this.n++}` : undefined);
    if (key === undefined) return;
    this.unacked.set(++this.seq, key);
    ws.send(encodePublish(this.topic, new TextEncoder().encode(key)));
  }

  private onMessage(m: Outbound): void {
    if (m.kind === 'ack') {
      for (const [seq, key] of this.unacked) {
        if (seq > m.seq) break;
        this.accepted.add(key);
        this.unacked.delete(seq);
      }
    } else if (m.kind === 'nack') {
      const key = this.unacked.get(m.seq);
      this.unacked.delete(m.seq);
      this.nacks++;
      if (key !== undefined) this.retry.push(key);
    }
  }
}

export class Subscriber {
  /** Deliveries per frame. */
  readonly received = new Map<string, number>();
  /** Deliveries of an (epoch, offset) already delivered. */
  duplicateOffsets = 0;
  gaps = 0;
  live = false;
  private readonly seen = new Set<string>();
  private epoch: string | undefined;
  private position: Position | undefined;
  private resuming = false;
  private readonly link: Link;

  constructor(
    urls: string[],
    first: number,
    private readonly topic: string,
  ) {
    this.link = new Link(
      urls,
      first,
      (ws) => this.subscribe(ws),
      (m) => this.onMessage(m),
      () => {},
    );
  }

  get closes(): number[] {
    return this.link.closes;
  }

  close(): void {
    this.link.stop();
  }

  private subscribe(ws: WebSocket): void {
    this.resuming = this.position !== undefined;
    ws.send(encodeSubscribe(this.topic, this.position));
  }

  private onMessage(m: Outbound): void {
    if (m.kind === 'subscribed' && m.topic === this.topic) {
      if (this.resuming && !m.recovered) this.gaps++;
      this.live = true;
      this.position ??= m.head;
      this.epoch ??= hex(m.head.epoch);
    } else if (m.kind === 'deliver' && m.topic === this.topic) {
      const epoch = hex(m.position.epoch);
      if (this.epoch !== undefined && epoch !== this.epoch) this.gaps++;
      this.epoch = epoch;
      this.position = m.position;
      const id = `${epoch}/${m.position.offset.ms}-${m.position.offset.seq}`;
      if (this.seen.has(id)) this.duplicateOffsets++;
      this.seen.add(id);
      const key = Buffer.from(m.frame).toString();
      this.received.set(key, (this.received.get(key) ?? 0) + 1);
    } else if (m.kind === 'error' && m.topic === this.topic && m.code === 7) {
      // The relay cannot read the topic now (its shard is failing over): ask again shortly.
      setTimeout(() => {
        const ws = this.link.current;
        if (ws !== undefined) this.subscribe(ws);
      }, 200);
    }
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
