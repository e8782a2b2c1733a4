/**
 * The socket under the transport (PROTOCOL-RELAY.md §1, §2, §5): one WebSocket at a time to one of the relay
 * URLs, opened with the admission token and the subprotocol, decoded strictly (protocol.ts), given up when it
 * does not open in time, and replaced after a loss with jittered exponential backoff on the next URL. What
 * travels over it (subscriptions, publishes) is the host's business: it hears when a socket opens, what it
 * says, and when it is gone.
 */
import { SealsigError, type TransportState } from '@sealsig/core';
import { backoffDelay } from './backoff.js';
import type { ResolvedOptions, TransportEvent, TransportEventType } from './options.js';
import { SUBPROTOCOL, decodeRelayMessage, maxRelayMessageBytes, type RelayMessage } from './protocol.js';
import { CLOSED, OPEN, resolveWebSocket, type WebSocketLike } from './socket.js';
import { unref } from './timers.js';

/** Close codes of the relay protocol (packages/relay/PROTOCOL-RELAY.md §5). */
const CLOSE_SERVICE_RESTART = 1012;
const CLOSE_POLICY_ORIGIN = 1008;
const CLOSE_TOKEN_REJECTED = 4001;
/** A socket close() waits this long for the closing handshake, then drops the connection. */
const CLOSE_GRACE_MS = 1000;

/** What the connection tells the transport. */
export interface ConnectionHost {
  /** A socket opened: SUBSCRIBE may be sent (call restored() once the subscriptions are back). */
  opened(): void;
  /** A well-formed message from the relay on the current socket. */
  message(message: RelayMessage): void;
  /** The current socket is gone (lost, abandoned, closed): nothing sent on it will be answered. */
  gone(): void;
  /** The connection state moved ('connecting' or 'reconnecting'; 'open' and 'closed' are the host's). */
  setState(state: TransportState): void;
  /** A typed event for the transport's listeners. */
  report(type: TransportEventType, error: SealsigError, extra?: Partial<TransportEvent>, url?: string): void;
  /** The relay refused this client for good (origin, token): the transport closes with this cause. */
  fatal(error: SealsigError): void;
}

export class Connection {
  readonly #options: ResolvedOptions;
  readonly #maxFrameBytes: number;
  readonly #host: ConnectionHost;
  #socket: WebSocketLike | undefined;
  /** The current socket fired 'open' (SUBSCRIBE/UNSUBSCRIBE may be sent). */
  #open = false;
  #everOpened = false;
  #urlIndex = 0;
  #attempt = 0;
  /** Bumped per connection attempt; callbacks of older attempts do nothing. */
  #generation = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #lastToken: string | undefined;
  #nextToken: string | undefined;
  #stopped = false;

  constructor(options: ResolvedOptions, host: ConnectionHost) {
    this.#options = options;
    this.#maxFrameBytes = options.maxFrameBytes;
    this.#host = host;
  }

  /** The relay URL of the current (or last) connection attempt, without the token. */
  get url(): string {
    return this.#options.urls[this.#urlIndex % this.#options.urls.length]!;
  }

  /** The current socket (undefined between attempts): work armed on one socket checks it is still this one. */
  get socket(): WebSocketLike | undefined {
    return this.#socket;
  }

  /** Whether the current socket fired 'open'. */
  get open(): boolean {
    return this.#open;
  }

  /** Writes one message if the socket is open; false if it could not. */
  send(message: Uint8Array): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(message);
      return true;
    } catch {
      return false;
    }
  }

  /** The host restored its subscriptions on this socket: the attempt succeeded. */
  restored(): void {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#attempt = 0;
    this.#everOpened = true;
  }

  async connect(): Promise<void> {
    const generation = ++this.#generation;
    const url = this.url;
    let token: string | undefined;
    let ctor: Awaited<ReturnType<typeof resolveWebSocket>>;
    try {
      token = await this.#tokenForAttempt();
      ctor = await resolveWebSocket(this.#options.WebSocket);
    } catch (e) {
      if (this.#isStale(generation)) return;
      this.#host.report('connection-lost', new SealsigError('E_TRANSPORT', 'could not prepare a connection', { cause: e }));
      this.#scheduleReconnect(false);
      return;
    }
    if (this.#isStale(generation)) return;
    this.#lastToken = token;
    const target = new URL(url);
    if (token !== undefined) target.searchParams.set('token', token);
    let socket: WebSocketLike;
    try {
      socket = ctor.isWs
        ? new ctor.WebSocket(target.href, SUBPROTOCOL, { maxPayload: maxRelayMessageBytes(this.#maxFrameBytes) })
        : new ctor.WebSocket(target.href, SUBPROTOCOL);
      socket.binaryType = 'arraybuffer';
    } catch (e) {
      this.#host.report('connection-lost', new SealsigError('E_TRANSPORT', `could not open a WebSocket to ${url}`, { cause: e }));
      this.#scheduleReconnect(false);
      return;
    }
    this.#socket = socket;
    this.#open = false;
    this.#connectTimer = unref(setTimeout(() => this.#abandon(socket, 'connection attempt timed out'), this.#options.connectTimeoutMs));
    socket.onopen = () => this.#onOpen(socket);
    socket.onmessage = (event) => this.#onMessage(socket, event.data);
    socket.onerror = () => {}; // a 'close' event follows with the code
    socket.onclose = (event) => this.#onClose(socket, event.code, event.reason);
  }

  /** close(): no more attempts; the socket is detached and closed (resolves once it is). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const socket = this.#socket;
    this.#forget();
    if (socket) await detach(socket);
  }

  #isStale(generation: number): boolean {
    return generation !== this.#generation || this.#stopped;
  }

  async #tokenForAttempt(): Promise<string | undefined> {
    if (this.#nextToken !== undefined) {
      const token = this.#nextToken;
      this.#nextToken = undefined;
      return token;
    }
    const source = this.#options.token;
    return typeof source === 'function' ? await source() : source;
  }

  #onOpen(socket: WebSocketLike): void {
    if (socket !== this.#socket) return;
    this.#open = true;
    this.#host.opened();
  }

  #onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.#socket) return;
    let bytes: Uint8Array | undefined;
    if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') bytes = new Uint8Array(data as ArrayBuffer);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!bytes) {
      this.#host.report('malformed-message', new SealsigError('E_FRAME_MALFORMED', 'relay sent a non-binary message'));
      return;
    }
    const decoded = decodeRelayMessage(bytes, this.#maxFrameBytes);
    if (!decoded.ok) {
      this.#host.report('malformed-message', new SealsigError('E_FRAME_MALFORMED', `relay message dropped: ${decoded.reason}`));
      return;
    }
    this.#host.message(decoded.message);
  }

  /** Gives up on a socket that did not open (or restore) in time; the close handler reconnects. */
  #abandon(socket: WebSocketLike, why: string): void {
    if (socket !== this.#socket) return;
    this.#host.report('connection-lost', new SealsigError('E_TRANSPORT', `${why} (${this.url})`));
    void detach(socket);
    this.#forget();
    this.#scheduleReconnect(false);
  }

  #onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) return;
    void detach(socket);
    this.#forget();
    const url = this.url;
    if (code === CLOSE_POLICY_ORIGIN) {
      this.#host.fatal(this.#fatal('origin-rejected', `relay refused this origin (close 1008${reason ? `: ${reason}` : ''})`, code, url));
      return;
    }
    if (code === CLOSE_TOKEN_REJECTED) {
      void this.#onTokenRejected(code, reason, url);
      return;
    }
    const restart = code === CLOSE_SERVICE_RESTART;
    this.#host.report('connection-lost', new SealsigError('E_TRANSPORT', `connection to ${url} closed (${code}${reason ? `: ${reason}` : ''})`), { closeCode: code });
    this.#scheduleReconnect(restart);
  }

  /** Close 4001: ask the token function once more; a new token retries at once, anything else is fatal. */
  async #onTokenRejected(code: number, reason: string, url: string): Promise<void> {
    const generation = this.#generation;
    this.#host.setState(this.#everOpened ? 'reconnecting' : 'connecting');
    const source = this.#options.token;
    let next: string | undefined;
    try {
      next = typeof source === 'function' ? await source() : undefined;
    } catch {
      next = undefined;
    }
    if (this.#isStale(generation)) return;
    if (next === undefined || next === this.#lastToken) {
      this.#host.fatal(this.#fatal('token-rejected', `relay rejected the admission token (close 4001${reason ? `: ${reason}` : ''})`, code, url));
      return;
    }
    this.#nextToken = next;
    this.#attempt = 0;
    void this.connect();
  }

  #fatal(type: TransportEventType, message: string, closeCode: number, url: string): SealsigError {
    const error = new SealsigError('E_TRANSPORT', message);
    this.#host.report(type, error, { closeCode }, url);
    return error;
  }

  /** Plans the next attempt on the next URL: at once after a relay restart (1012), else after a jittered backoff. */
  #scheduleReconnect(immediately: boolean): void {
    if (this.#stopped) return;
    this.#host.setState(this.#everOpened ? 'reconnecting' : 'connecting');
    this.#urlIndex = (this.#urlIndex + 1) % this.#options.urls.length;
    // Only the first retry after a working connection is immediate: a relay that keeps answering 1012
    // (draining) must not cause a reconnect loop.
    const backoff = { minDelayMs: this.#options.minReconnectDelayMs, maxDelayMs: this.#options.maxReconnectDelayMs };
    const delay = immediately && this.#attempt === 0 ? 0 : backoffDelay(this.#attempt, backoff);
    this.#attempt++;
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = unref(
      setTimeout(() => {
        this.#reconnectTimer = undefined;
        void this.connect();
      }, delay),
    );
  }

  /** Forgets the current socket and tells the host. */
  #forget(): void {
    this.#socket = undefined;
    this.#open = false;
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#host.gone();
  }
}

/** Detaches a socket's handlers and closes it; its events no longer reach the transport. */
function detach(socket: WebSocketLike): Promise<void> {
  const noop = () => {};
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onerror = noop; // `ws` throws on an 'error' event without a listener: keep one
  return new Promise<void>((resolve) => {
    if (socket.readyState === CLOSED) {
      socket.onclose = noop;
      resolve();
      return;
    }
    const timer = unref(
      setTimeout(() => {
        (socket as { terminate?: () => void }).terminate?.();
        resolve();
      }, CLOSE_GRACE_MS),
    );
    socket.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      socket.close(1000);
    } catch {
      clearTimeout(timer);
      (socket as { terminate?: () => void }).terminate?.();
      resolve();
    }
  });
}
