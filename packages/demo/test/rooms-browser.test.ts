/**
 * The demo page's moderated password room (@sealsig/rooms, docs/PROTOCOL.md §R) in real Chromium, through a
 * real relay: the invite page asks consent and sends nothing first; a wrong password is refused
 * (E_WRONG_PASSWORD) without the moderator being asked; a third page is rejected with a reason holding HTML
 * markup, which its page shows literally; the right password reaches the moderator as a verified request,
 * which it accepts; the two pages open a real WebRTC data channel signaled through the room and chat over
 * it; the moderator kicks the joiner with a typed reason, which the joiner's page shows. Each page says on
 * top, in one sentence, what it is and what to do next; the moderator's page shows the room without the
 * two-tab call; every page in a room shows what the relay carried for it (lobby, room, inbox topics; sealed
 * frames only); screenshots of each step land in packages/demo/screenshots/. It runs in a
 * private network namespace (netns.ts) holding fixtures/rooms-browser.ts (relay + playwright), whose JSON
 * result is read from stdout. Skipped when /usr/bin/chromium is missing (outside CI).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasChromium, runFixture } from './netns.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/rooms-browser.ts', import.meta.url));

describe.skipIf(!hasChromium)('the demo page: a moderated password room in Chromium', () => {
  it('wrong password refused, a rejection with a reason, right one accepted, data channel and chat, then a kick with a reason', async () => {
    const { result, stderr } = await runFixture(FIXTURE, 50_000);
    expect(result, stderr).toMatchObject({
      ok: true,
      inviteInFragment: true,
      consent: { visible: true, createHidden: true },
      consentBeforeJoin: { role: 'none', joined: false, error: null },
      connectionsOpenedBeforeJoin: 0,
      wrongPassword: { error: 'E_WRONG_PASSWORD' },
      // The moderator's reason reached the rejected joiner, and its page shows it as text: no element parsed.
      rejected: { error: 'E_ACCESS_DENIED', reason: 'no room for <b>carol</b> <img src=x onerror="globalThis.injected=1">', elements: 0, injected: null },
      reasonFieldAfterReject: '',
      // Only the right passwords reached the moderator's app; the wrong one was settled by the password check.
      requestsA: [{ name: 'carol', passwordVerified: true }, { name: 'bob', passwordVerified: true }],
      roles: ['moderator', 'member'],
      membersA: ['bob'],
      membersB: ['alice*'],
      sentByA: 1,
      chat: [['hi alice'], ['hello bob, from the moderator']],
      kicked: 'demo over, thanks bob',
      afterKick: { joinedB: false, channelOpenB: false, membersA: 0 },
      placeholderFits: true,
      relayPanelLeaks: false,
      views: {
        created: { callVisible: false, relayPanelVisible: true, relayTopics: ['lobby', 'room'] },
        consent: { callVisible: false, relayPanelVisible: false, relayPanel: '' }, // nothing sent before Join
        wrongPassword: { callVisible: false, relayPanelVisible: true, relayTopics: ['a lobby inbox', 'lobby'] },
        moderatorInRoom: { callVisible: false, relayPanelVisible: true, relayTopics: expect.arrayContaining(['lobby', 'room', 'your inbox', "a member's inbox"]) },
        memberInRoom: { callVisible: false, relayPanelVisible: true, relayTopics: expect.arrayContaining(['lobby', 'room', 'your inbox', "a member's inbox"]) },
      },
      pageErrors: [],
    });
    const views = result.views as Record<string, { intro: string; relayTopics: string[] }>;
    for (const view of Object.values(views)) expect(view.relayTopics).not.toContain('unknown'); // every topic named
    expect(views.created!.intro).toMatch(/^You moderate this room: send the invite link and the password separately, then accept or reject each join request below\.$/);
    expect(views.consent!.intro).toMatch(/^You were invited to a sealsig room .*: check the moderator key below, type the room password and click Join\.$/);
    expect(views.memberInRoom!.intro).toMatch(/^You are in the room: /);
    expect(Object.keys(result.screenshots as object)).toEqual(['room-invite-consent', 'room-rejected', 'room-moderator', 'room-member', 'room-kicked']);
    for (const size of Object.values(result.screenshots as Record<string, number>)) expect(size).toBeGreaterThan(10_000);
    const consent = result.consent as { text: string };
    expect(consent.text).toMatch(/^Join the room moderated by [0-9a-f]{4}( [0-9a-f]{4}){3}\? It asks a password\./);
    expect((result.wrongPassword as { status: string }).status).toContain('Wrong password');
    expect((result.rejected as { status: string }).status).toBe(
      'The moderator did not let you in: no room for <b>carol</b> <img src=x onerror="globalThis.injected=1"> (E_ACCESS_DENIED)',
    );
    expect((result.afterKick as { status: string }).status).toContain('demo over, thanks bob');
    expect((result.afterKick as { intro: string }).intro).toMatch(/^The moderator removed you from this room: /);
  }, 60_000);
});
