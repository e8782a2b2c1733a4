/**
 * Writes docs/test-vectors/rooms.json from scripts/vectors.ts (`pnpm vectors`), and the descriptor-write
 * vector (§R7) to both verifiers' fixtures: packages/rooms/test/fixtures/descriptor-put.json and
 * packages/relay/test/fixtures/descriptor-put.json (the relay checks write proofs without @sealsig/rooms).
 */
import { writeFileSync } from 'node:fs';
import { ready } from '@sealsig/core';
import { cpaceReady } from '../src/cpace/index.js';
import { roomVectors } from './vectors.js';

await ready();
await cpaceReady();
const vectors = roomVectors();
writeFileSync(new URL('../../../docs/test-vectors/rooms.json', import.meta.url), JSON.stringify(vectors, null, 2) + '\n');
const put = JSON.stringify(vectors.descriptor_put, null, 2) + '\n';
for (const at of ['../test/fixtures/descriptor-put.json', '../../relay/test/fixtures/descriptor-put.json']) writeFileSync(new URL(at, import.meta.url), put);
console.info('wrote docs/test-vectors/rooms.json and the descriptor-put fixtures');
