// Builds dist/athena.mjs (server + CLI, dependencies external, server code in dist/athena-*.mjs chunks), dist/client.mjs
// with its types in dist/types (`import { AthenaClient } from 'athena/client'`) and, when present, dist/athena-cli.mjs
// (the agent client as one file with only Node built-ins).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: false, logLevel: 'warning' };

// Split into chunks loaded on demand: client commands (check, claim, mcp …) then start without loading
// fastify, SQLite, pg or discord.js, which only the server commands import (lazily).
const main = await build({
  ...common,
  entryPoints: { athena: 'src/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'athena-[name]-[hash]',
  packages: 'external',
  metafile: true,
});
chmodSync('dist/athena.mjs', 0o755);
// Chunks of earlier builds: removed once they are an hour old, so a process started from them still finds them.
const current = new Set(Object.keys(main.metafile.outputs).map((path) => path.replace(/^dist\//, '')));
for (const file of readdirSync('dist')) {
  if (/^athena-.+-[A-Z0-9]{8}\.mjs$/.test(file) && !current.has(file) && Date.now() - statSync(`dist/${file}`).mtimeMs > 3_600_000) unlinkSync(`dist/${file}`);
}

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

// The typed client: one file with no dependencies (its types come from the API's zod schemas, its code needs only fetch).
await build({ ...common, entryPoints: ['src/client/index.ts'], outfile: 'dist/client.mjs' });
emitClientTypes();

/**
 * dist/types/**.d.ts for 'athena/client', by tsc (a development dependency), and only when a source it came from
 * changed: tsc takes seconds, and `npm start` builds every time.
 */
function emitClientTypes() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    console.warn('typescript is not installed: dist/types (the types of athena/client) not built');
    return;
  }
  const declarations = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.d.ts')).map((f) => join(dir, String(f))) : []);
  const emitted = declarations('dist/types');
  const stale =
    !existsSync('dist/types/client/index.d.ts') ||
    emitted.some((file) => {
      const source = file.replace(/^dist\/types/, 'src').replace(/\.d\.ts$/, '.ts');
      return !existsSync(source) || statSync(source).mtimeMs > statSync(file).mtimeMs;
    }) ||
    readdirSync('src/client').some((f) => !existsSync(`dist/types/client/${f.replace(/\.ts$/, '.d.ts')}`));
  if (stale) execFileSync(process.execPath, [tsc, '-p', 'tsconfig.client.json'], { stdio: 'inherit' });
}
