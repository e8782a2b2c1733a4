/**
 * Importing @sealsig/rooms does not load the ristretto255 library (@noble/curves): rooms without a password
 * never load it, and a password room loads it once, with a dynamic import, when it runs CPace. The mock
 * below only counts how often the module is evaluated (vitest calls the factory on the first import from
 * anywhere in the module graph, static or dynamic) and hands back the real module.
 */
import { expect, it, vi } from 'vitest';

const noble = vi.hoisted(() => ({ evaluations: 0 }));
vi.mock(import('@noble/curves/ed25519.js'), async (importOriginal) => {
  noble.evaluations++;
  return await importOriginal();
});

import { ready } from '@sealsig/core';
import { createRoom, joinRoom } from '../src/index.js';
import { ristrettoLoadCount } from '../src/cpace/backend.js';
import { fast, net, waitFor } from './helpers.js';

it('a room without a password never loads ristretto255; the first password check does, once', async () => {
  await ready();
  expect(noble.evaluations).toBe(0);
  expect(ristrettoLoadCount()).toBe(0);

  const n = net();
  const open = await createRoom({ transport: n.connect(), moderation: { admit: 'auto' }, session: fast });
  const guest = await joinRoom({ transport: n.connect(), invite: open.invite, session: fast });
  await waitFor(() => guest.members.length === 1);
  await guest.close();
  await open.close();
  expect(noble.evaluations).toBe(0);
  expect(ristrettoLoadCount()).toBe(0);

  const locked = await createRoom({ transport: n.connect(), password: 'pw', moderation: { admit: 'auto' }, session: fast });
  expect(noble.evaluations).toBe(0); // creating a password room runs no CPace yet
  const first = await joinRoom({ transport: n.connect(), invite: locked.invite, password: 'pw', session: fast });
  expect(noble.evaluations).toBe(1);
  expect(ristrettoLoadCount()).toBe(1);
  const second = await joinRoom({ transport: n.connect(), invite: locked.invite, password: 'pw', session: fast });
  expect(noble.evaluations).toBe(1); // loaded once
  expect(ristrettoLoadCount()).toBe(1);
  await Promise.all([first.close(), second.close()]);
  await locked.close();
});
