// `npm run docs`: regenerates docs/api.md (from the OpenAPI document) and docs/configuration.md (from the config schema).
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_DOCS } from './docs/generated.js';

for (const doc of GENERATED_DOCS) {
  const text = await doc.render();
  const changed = readFileSync(doc.path, 'utf8') !== text;
  if (changed) writeFileSync(doc.path, text);
  process.stdout.write(`${doc.path}: ${changed ? 'written' : 'up to date'}\n`);
}
