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
    // Bundled CommonJS packages (commander, ajv) call require() for Node built-ins: give the ESM bundle one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  });
  chmodSync('dist/athena-cli.mjs', 0o755);
}
