/**
 * Counters and gauges, rendered in the Prometheus text exposition format (version 0.0.4) at /metrics.
 * Label values come from a fixed set (drop reasons, close codes), so the label space is bounded.
 */
export type DropReason =
  | 'rate_limited'
  | 'frame_too_large'
  | 'bad_topic'
  | 'malformed'
  | 'not_allowed'
  | 'too_many_topics'
  | 'slow_consumer'
  /** A PUBLISH refused because the engine could not store it (Redis unreachable) or the relay was draining. */
  | 'unavailable';

export interface Gauges {
  /** Open WebSocket connections. */
  connections: number;
  /** Topics with at least one local subscriber. */
  topics: number;
  /** Bytes of frames retained for resumption. */
  retainedBytes: number;
  /** 1 while the engine can store frames, 0 while it cannot (Redis unreachable). */
  engineAvailable: number;
  /** Room descriptors held (src/descriptors.ts). */
  descriptors: number;
  /** Bytes of the room descriptors held. */
  descriptorBytes: number;
}

/** The relay's counters and gauges (Relay.metrics(), /metrics). */
export interface MetricsSnapshot extends Gauges {
  /** PUBLISH frames accepted. */
  framesIn: number;
  /** Frames delivered to subscribers. */
  framesOut: number;
  /** Bytes received from clients. */
  bytesIn: number;
  /** Bytes sent to clients. */
  bytesOut: number;
  /** Messages dropped, by reason. */
  drops: Record<string, number>;
  /** Connections closed by the relay, by reason. */
  closes: Record<string, number>;
  /** /descriptors requests by outcome (stored, found, not_found, forbidden, full, too_large, ...). */
  descriptorRequests: Record<string, number>;
  /** /turn requests by outcome (issued, rate_limited, missing, invalid, expired, origin, method). */
  turnRequests: Record<string, number>;
}

export class Metrics {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly drops = new Map<string, number>();
  readonly closes = new Map<string, number>();
  readonly descriptorRequests = new Map<string, number>();
  readonly turnRequests = new Map<string, number>();

  drop(reason: DropReason): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  close(code: number): void {
    const key = String(code);
    this.closes.set(key, (this.closes.get(key) ?? 0) + 1);
  }

  /** Counts one /descriptors answer; `result` comes from a fixed set (DescriptorResult). */
  descriptorRequest(result: string): void {
    this.descriptorRequests.set(result, (this.descriptorRequests.get(result) ?? 0) + 1);
  }

  /** Counts one /turn answer; `result` comes from a fixed set (TurnResult). */
  turnRequest(result: string): void {
    this.turnRequests.set(result, (this.turnRequests.get(result) ?? 0) + 1);
  }

  snapshot(gauges: Gauges): MetricsSnapshot {
    return {
      ...gauges,
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      drops: Object.fromEntries(this.drops),
      closes: Object.fromEntries(this.closes),
      descriptorRequests: Object.fromEntries(this.descriptorRequests),
      turnRequests: Object.fromEntries(this.turnRequests),
    };
  }

  render(gauges: Gauges): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
      lines.push(`# HELP sealsig_relay_${name} ${help}`, `# TYPE sealsig_relay_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`sealsig_relay_${name}${labels} ${value}`);
    };
    metric('connections', 'gauge', 'Open client connections (neither side has begun to close them).', [['', gauges.connections]]);
    metric('topics', 'gauge', 'Topics with at least one local subscriber.', [['', gauges.topics]]);
    metric('retained_bytes', 'gauge', 'Bytes of frames the memory engine holds (0 with Redis).', [['', gauges.retainedBytes]]);
    metric('engine_available', 'gauge', '1 while the engine can store frames, 0 while it cannot (Redis unreachable).', [['', gauges.engineAvailable]]);
    metric('descriptors', 'gauge', 'Room descriptors held.', [['', gauges.descriptors]]);
    metric('descriptor_bytes', 'gauge', 'Bytes of room descriptors held.', [['', gauges.descriptorBytes]]);
    metric('frames_in_total', 'counter', 'PUBLISH frames accepted from clients.', [['', this.framesIn]]);
    metric('frames_out_total', 'counter', 'DELIVER messages sent to clients.', [['', this.framesOut]]);
    metric('bytes_in_total', 'counter', 'Bytes of accepted PUBLISH messages.', [['', this.bytesIn]]);
    metric('bytes_out_total', 'counter', 'Bytes of DELIVER messages sent.', [['', this.bytesOut]]);
    metric('drops_total', 'counter', 'Messages dropped, by reason.', [...this.drops].map(([r, v]) => [`{reason="${r}"}`, v]));
    metric('closes_total', 'counter', 'Connections closed by the relay, by close code.', [...this.closes].map(([c, v]) => [`{code="${c}"}`, v]));
    metric('descriptor_requests_total', 'counter', 'Requests to /descriptors, by outcome.', [...this.descriptorRequests].map(([r, v]) => [`{result="${r}"}`, v]));
    metric('turn_requests_total', 'counter', 'Requests to /turn, by outcome.', [...this.turnRequests].map(([r, v]) => [`{result="${r}"}`, v]));
    return `${lines.join('\n')}\n`;
  }
}
