/**
 * Rooms cases for `pnpm bench` (docs/BENCHMARKS.md "Rooms"): the cost of a password check and of a join.
 * Run by bench/run.ts in the same interleaved rounds as the other cases, so the ratios compare like with like.
 */
import { createMemoryNetwork, randomBytes } from '../packages/core/src/index.js';
import { createRoom, joinRoom, type Room } from '../packages/rooms/src/index.js';
import { joinerCpace, moderatorCpace } from '../packages/rooms/src/password.js';
import { Stopwatch, type Case } from './harness.js';
import { CPACE, ROOM_JOIN, ROOM_JOIN_PASSWORD } from './row-names.js';


let sink = 0; // keeps the results observable

/** One complete password check as both parties compute it: shares, ISK, both confirmations. */
export function cpaceCase(): Case {
  const channel = { lobbyTopic: 't', joinerId: 'j', joinerInstance: 'ji', moderatorId: 'm', moderatorInstance: 'mi' };
  return {
    name: CPACE,
    bytes: null,
    async run(n) {
      for (let i = 0; i < n; i++) {
        const nonce = randomBytes(16);
        const joiner = await joinerCpace('correct horse battery staple', channel, nonce);
        const mod = await moderatorCpace('correct horse battery staple', channel, nonce, joiner.share);
        const { ok, confirm } = joiner.answer(mod.share, mod.confirm);
        sink += (ok ? 1 : 0) + confirm[0]! + mod.expected[0]!;
      }
    },
  };
}

/** invite -> admitted and in the room (lobby, request, decision, room session), the moderator admitting automatically. */
export function roomJoinCase(password: string | undefined): Case {
  let mod: Room | undefined;
  const net = createMemoryNetwork();
  return {
    name: password === undefined ? ROOM_JOIN : ROOM_JOIN_PASSWORD,
    bytes: null,
    async run(n) {
      mod ??= await createRoom({ transport: net.connect(), moderation: { admit: 'auto', attempts: { maxAttemptsPerInvite: 1e9, maxAttemptsPerJoiner: 1e9 } }, ...(password ? { password } : {}) });
      const timed = new Stopwatch();
      for (let i = 0; i < n; i++) {
        const transport = net.connect();
        timed.start();
        const room = await joinRoom({ transport, invite: mod.invite, ...(password ? { password } : {}) });
        timed.stop();
        sink += room.id.length;
        await room.close();
        await transport.close();
      }
      return timed;
    },
  };
}
