// `athena` client commands must not load server code: the entry of dist/athena.mjs and the chunks it imports
// statically name no server package, nor zod or pino (they load only when `serve` and the operator commands import them).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ATHENA_BIN } from './harness.js';

/** Bare package names imported statically from `file` and the local chunks it imports statically. */
function staticPackages(file: string, seen = new Set<string>()): Set<string> {
  const packages = new Set<string>();
  if (seen.has(file)) return packages;
  seen.add(file);
  const code = readFileSync(file, 'utf8');
  // Static imports only: `import … from "x"` and `import "x"` at the start of a line (dynamic import() is lazy).
  for (const m of code.matchAll(/^(?:import\s[^;]*?from\s*|import\s*|\}\s*from\s*)["']([^"']+)["']/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('./')) for (const p of staticPackages(join(dirname(file), spec), seen)) packages.add(p);
    else if (!spec.startsWith('node:')) packages.add(spec);
  }
  return packages;
}

describe('dist/athena.mjs', () => {
  it('loads no server package for client commands', () => {
    const packages = [...staticPackages(ATHENA_BIN)];
    expect(packages).toContain('commander');
    const server = packages.filter((p) => /^(fastify|@fastify\/|pg$|better-sqlite3|discord\.js|prom-client|fastify-type-provider-zod)/.test(p) || p.endsWith('streamableHttp.js'));
    expect(server).toEqual([]);
    // Nor what only the server's start-up needs: the config schema's validator and the logger (each
    // adds a tenth of a second or more to every command's start).
    expect(packages.filter((p) => p === 'zod' || p === 'pino')).toEqual([]);
  });
});
