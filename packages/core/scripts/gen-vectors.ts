/** Writes docs/test-vectors/*.json from scripts/vectors.ts (`pnpm vectors`). */
import { writeFileSync } from 'node:fs';
import { ready } from '../src/sodium.js';
import { generateVectors } from './vectors.js';

await ready();
const dir = new URL('../../../docs/test-vectors/', import.meta.url);
for (const [name, content] of Object.entries(generateVectors())) {
  writeFileSync(new URL(`${name}.json`, dir), JSON.stringify(content, null, 2) + '\n');
  console.info(`wrote docs/test-vectors/${name}.json`);
}
