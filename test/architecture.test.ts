// The layout rules the code must keep: the core owns its ports and never imports store/; SQL is written only in store/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** Every .ts file under `dir`, as paths relative to the repository (src/core/queue.ts). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** Specifiers of static and dynamic imports (and re-exports). */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

/** The text with its comments removed, so a comment that mentions SQL or store/ does not count. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** String literals (template, single- and double-quoted) of a file. */
function stringLiterals(text: string): string[] {
  return withoutComments(text).match(/`(?:\\[\s\S]|[^`\\])*`|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g) ?? [];
}

/** Statements, not words: an upper-case keyword with what must follow it in SQL. */
const SQL = /\b(?:SELECT\s+[\w*(]|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|(?:CREATE|DROP|ALTER)\s+(?:TABLE|INDEX|UNIQUE)\b|VACUUM\b|PRAGMA\s+\w|ANALYZE\s+\w|pg_advisory\w*|pg_notify)/;

const sqlIn = (file: string) => stringLiterals(readFileSync(join(root, file), 'utf8')).filter((s) => SQL.test(s));

/** Start-up wiring may open the database with SQL of its own. */
const WIRING = new Set(['src/server.ts']);

/**
 * SQL still outside store/ that is on its way there (the cross-replica feed, leadership and planner
 * statistics). Each must still hold SQL, so this list shrinks as files move and cannot go stale.
 */
const MOVING_TO_STORE = new Set<string>([]);

describe('architecture', () => {
  it('no file under src/core imports from src/store', () => {
    const offending = sourceFiles(join(src, 'core')).flatMap((file) =>
      importsOf(readFileSync(join(root, file), 'utf8'))
        .filter((spec) => spec.startsWith('.') && relative(src, resolve(root, dirname(file), spec)).startsWith('store'))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('SQL is written only in src/store (and start-up wiring)', () => {
    const outside = sourceFiles(src).filter((f) => !f.startsWith('src/store/') && !WIRING.has(f) && !MOVING_TO_STORE.has(f));
    const offending = outside.flatMap((file) => sqlIn(file).map((s) => `${file}: ${s.slice(0, 80)}`));
    expect(offending).toEqual([]);
  });

  it('every file listed as moving to store/ still holds SQL (remove it from the list once moved)', () => {
    const moved = [...MOVING_TO_STORE].filter((file) => {
      try {
        return sqlIn(file).length === 0;
      } catch {
        return true; // gone
      }
    });
    expect(moved).toEqual([]);
  });

  it('both backend folders hold the same files, apart from machinery only one backend has, listed here', () => {
    // Each backend answers the same questions in same-named files: what it can do (capabilities), how its
    // SQL differs (dialect), how statements run (driver) and what its errors mean (errors).
    const ONLY_IN = {
      // One writer: transactions of one event-loop turn share a commit; WAL checkpoints run off the event loop.
      sqlite: ['group-commit.ts', 'checkpointer.ts'],
      // `?` numbered as $1, $2…; sessions outside the pool for LISTEN and the leader's advisory lock.
      postgres: ['placeholders.ts', 'sessions.ts'],
    };
    const files = (backend: keyof typeof ONLY_IN) =>
      readdirSync(join(src, 'store', backend))
        .filter((f) => f.endsWith('.ts') && !ONLY_IN[backend].includes(f))
        .sort();
    expect(files('sqlite')).toEqual(['capabilities.ts', 'dialect.ts', 'driver.ts', 'errors.ts']);
    expect(files('postgres')).toEqual(files('sqlite'));
    for (const backend of ['sqlite', 'postgres'] as const) {
      for (const f of ONLY_IN[backend]) expect(readdirSync(join(src, 'store', backend)), `${backend}/${f} is listed but gone`).toContain(f);
    }
  });

  it('the checks see what they look for', () => {
    // A check that finds nothing in anything would pass forever: it must find store/'s own SQL and imports.
    expect(sqlIn('src/store/sql-activity.ts').length).toBeGreaterThan(0);
    expect(importsOf("import type { Store } from '../store/db.js';\nconst m = await import('../store/open.js');")).toEqual(['../store/db.js', '../store/open.js']);
    expect(stringLiterals('// SELECT x FROM y\nconst a = "UPDATE tasks SET x = 1";').filter((s) => SQL.test(s))).toHaveLength(1);
  });
});
