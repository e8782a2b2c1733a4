/**
 * Taking up and handing over moderation (docs/PROTOCOL.md §R6.1, with the lobby of §R3 and the descriptor of
 * §R7): the member the state names as moderator enters the lobby and keeps a desk there (lobby-desk.ts) that
 * admits joiners, announces its chain, rotates and refreshes ICE servers on the app's timers, and publishes the
 * sealed descriptor; transfer() commits the link naming a successor, and the former moderator leaves the lobby
 * and stays a member. The Room calls it as the state's moderator changes; it reaches the rest through a
 * HandoverHost.
 */
import { SealsigError, Session, type Identity, type SessionOptions } from '@sealsig/core';
import { extendChain } from './chain.js';
import { AttemptLimiter } from './cpace/attempts.js';
import { publishDescriptor, type DescriptorOptions } from './descriptor.js';
import type { Invite } from './invite.js';
import { checkGrant, grantStanding, type GrantContext, type GrantRefusal } from './invite-grant.js';
import { LobbyDoor } from './lobby-door.js';
import { LobbyDesk, type JoinRequest } from './lobby-desk.js';
import { unref, type Moderator } from './moderator.js';
import { checkIce, type RoomOptions } from './options.js';
import type { Replica } from './replica.js';
import { MAX_CHAIN } from './wire.js';
import type { InviteGrant } from './wire-grant.js';

/** What the moderator's seat needs of its room. */
export interface HandoverHost {
  /** This member's keys: the lobby session's identity, and the signer of links and descriptors. */
  readonly identity: Identity;
  /** The room's options: session, transport, moderation, descriptor. */
  readonly options: RoomOptions;
  /** This member's state: whom it names as moderator, its chain. */
  readonly replica: Replica;
  /** The moderator's side: admissions and commits. */
  readonly moderator: Moderator;
  /** The room's descriptor id (§R2), to which links are bound (§R6.1). */
  readonly descriptorId: Uint8Array;
  /** The invite this member holds (the one it joined with, or the latest it issued). */
  invite(): Invite;
  /** The lobby session's options (the invite's session id, with this member's identity). */
  lobbyOptions(): SessionOptions;
  /** The room password, if the invite says there is one. */
  password(): string | undefined;
  /** Whether the room is closed. */
  isClosed(): boolean;
  /** Whether a member id is surfaced. */
  isPresent(id: string): boolean;
  /** Shows a join request to the app: false when nobody listens. */
  ask(request: JoinRequest): boolean;
  /** Reports a failed operation as the room's 'error'. */
  report(e: unknown): void;
}

/** The moderator's seat: its lobby desk and timers, while this member moderates. */
export class Handover {
  readonly #h: HandoverHost;
  #lobby: Session | undefined;
  #desk: LobbyDesk | undefined;
  #limiter: AttemptLimiter | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  #becoming: Promise<void> | undefined;

  constructor(host: HandoverHost) {
    this.#h = host;
  }

  /** The start as moderator under way after a transfer to this member, if any: close() and transfer() wait for it. */
  get becoming(): Promise<void> | undefined {
    return this.#becoming;
  }

  /** §R3 The moderator's check of an invite grant, against the state it holds now. */
  #checkGrant(grant: InviteGrant | null): GrantRefusal | undefined {
    return checkGrant(grant, this.#grantContext());
  }

  #grantContext(): GrantContext {
    const s = this.#h.replica.state;
    const signers = this.#h.options.moderation?.inviteSigners;
    return { descriptorId: this.#h.descriptorId, moderator: s.moderator, chain: s.chain, revoked: s.revoked, signers, now: Date.now() };
  }

  /** Takes up moderation: enters the lobby, opens the desk, starts the moderator's timers. */
  async enter(): Promise<void> {
    if (this.#desk !== undefined || this.#h.isClosed()) return;
    const { options, replica, moderator } = this.#h;
    const mod = options.moderation ?? {};
    this.#limiter ??= new AttemptLimiter(mod.attempts);
    const door = new LobbyDoor({
      checkGrant: (grant) => this.#checkGrant(grant),
      current: (grant) => grantStanding(grant, this.#grantContext()) === undefined,
      lists: (key) => replica.lists(key),
      now: () => Date.now(),
    }, mod.lobbyRate);
    const lobby = new Session({ ...this.#h.lobbyOptions(), admission: door });
    const desk = new LobbyDesk({
      lobby,
      password: this.#h.password(),
      limiter: this.#limiter,
      mode: mod.admit ?? 'ask',
      decisionTimeoutMs: mod.decisionTimeoutMs ?? 60_000,
      chain: () => replica.state.chain,
      checkGrant: (grant) => this.#checkGrant(grant),
      banReason: (key) => replica.banReason(key),
      isMember: (key) => replica.lists(key),
      ask: (request) => this.#h.ask(request),
      admit: (key, name) => moderator.admit(key, name),
      report: (e) => this.#h.report(e),
    });
    this.#lobby = lobby;
    this.#desk = desk;
    await lobby.start();
    if (this.#h.isClosed() || !replica.isModerator) return; // close() or a transfer came meanwhile: they wait for us, then resign
    desk.announce();
    if (mod.rotateEveryMs !== undefined) this.#every(mod.rotateEveryMs, () => replica.isModerator && moderator.rotate());
    if (mod.refreshIceServers !== undefined) {
      const { fetch, everyMs } = mod.refreshIceServers;
      const refresh = async () => {
        const servers = checkIce(await fetch());
        if (replica.isModerator && !this.#h.isClosed() && JSON.stringify(servers) !== JSON.stringify(replica.state.iceServers)) moderator.setIceServers(servers);
      };
      const run = () => void refresh().catch((e) => this.#h.report(e));
      run();
      this.#every(Math.max(1_000, everyMs), run);
    }
    const d = options.descriptor;
    if (d !== undefined) {
      void this.#publish(d, true);
      this.#every(Math.max(1_000, Math.floor((d.ttlMs ?? 60_000) / 2)), () => this.#publish(d, true));
    }
  }

  /** A transfer named this member: takes up moderation (errors are reported). */
  takeOver(): void {
    this.#becoming = this.enter().catch((e) => this.#h.report(e));
  }

  /** A transfer named someone else: resigns once a start still under way has finished. */
  stepDown(): void {
    if (this.#desk !== undefined) void Promise.resolve(this.#becoming).then(() => this.resign(false));
  }

  /** §R6.1 Makes another present member the moderator: commits the link naming it, then resigns. */
  async transfer(memberId: string): Promise<void> {
    const { moderator, replica } = this.#h;
    moderator.mustModerate();
    const target = moderator.listed(memberId);
    if (!this.#h.isPresent(memberId)) throw new SealsigError('E_UNKNOWN_PEER', 'the new moderator must be present');
    if (replica.state.chain.length >= MAX_CHAIN) throw new SealsigError('E_INVALID_ARGUMENT', `a room can change moderator at most ${MAX_CHAIN} times`);
    await this.#becoming; // a moderator still starting up finishes first
    const s = replica.state;
    const chain = extendChain(s.chain, this.#h.descriptorId, this.#h.identity.signing.privateKey, target.key, s.version + 1, s.epoch);
    moderator.commit({ link: chain[chain.length - 1]! });
    await this.resign(false);
  }

  /** Stops moderating: on a transfer (the successor publishes the descriptor now), or leaving (`closing`: says "not live"). */
  async resign(closing: boolean): Promise<void> {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    const d = this.#h.options.descriptor;
    if (closing && d !== undefined && this.#desk !== undefined && this.#h.replica.isModerator) await this.#publish(d, false);
    this.#desk?.close();
    this.#desk = undefined;
    const lobby = this.#lobby;
    this.#lobby = undefined;
    await lobby?.close();
  }

  /** §R7 Publishes the sealed descriptor: live, or (leaving) expired at once. */
  #publish(d: DescriptorOptions, live: boolean): Promise<void> {
    const { state } = this.#h.replica;
    return publishDescriptor(d, this.#h.invite(), this.#h.identity.signing.privateKey, state.moderator, state.chain, live).catch((e) => this.#h.report(e));
  }

  /** Runs `f` every `ms` while this member moderates. */
  #every(ms: number, f: () => unknown): void {
    const t = setInterval(f, ms);
    unref(t);
    this.#timers.push(t);
  }
}
