// Builds dist/athena.mjs (server + CLI, dependencies external) and, when present,
// dist/athena-cli.mjs (the agent client as one file with only Node built-ins).
import { build } from 'esbuild';
import { chmodSync, existsSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: false, logLevel: 'warning' };

await build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/athena.mjs', packages: 'external' });
chmodSync('dist/athena.mjs', 0o755);

if (existsSync('src/cli/standalone.ts')) {
  await build({
    ...common,
    entryPoints: ['src/cli/standalone.ts'],
    outfile: 'dist/athena-cli.mjs',
    banner: { js: '#!/usr/bin/env node' },
  });
  chmodSync('dist/athena-cli.mjs', 0o755);
}
