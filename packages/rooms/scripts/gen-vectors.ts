/** Writes docs/test-vectors/rooms.json from scripts/vectors.ts (`pnpm vectors`). */
import { writeFileSync } from 'node:fs';
import { ready } from '@sealsig/core';
import { cpaceReady } from '../src/cpace/index.js';
import { roomVectors } from './vectors.js';

await ready();
await cpaceReady();
writeFileSync(new URL('../../../docs/test-vectors/rooms.json', import.meta.url), JSON.stringify(roomVectors(), null, 2) + '\n');
console.info('wrote docs/test-vectors/rooms.json');
