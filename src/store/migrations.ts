// The one migration runner: applies a backend's numbered .sql files in order, once each, and
// refuses to start on a database whose applied migration has since been edited.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnavailableError } from '../errors.js';
import type { Dialect, Queryable } from './db.js';

export type Migration = { name: string; sql: string; checksum: string };

/** The statements of a migration run: the driver's queries inside its transaction, and whole scripts. */
export type MigrationSession = Queryable & { exec(script: string): Promise<void> };

function migrationsRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Source (src/store) and bundle (dist/) both resolve to src/store/migrations.
  const candidates = [join(here, 'migrations'), resolve(here, '../src/store/migrations'), resolve(here, '../../src/store/migrations')];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`migrations folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** sha256 of the text; line endings do not count, so a checkout that turns LF into CRLF is no edit. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export function loadMigrations(backend: Dialect['name']): Migration[] {
  const dir = join(migrationsRoot(), backend);
  return readdirSync(dir)
    .filter((file) => /^\d{3}_.+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return { name: file, sql, checksum: migrationChecksum(sql) };
    });
}

/**
 * Applies the migrations not applied yet and returns their names. The driver runs this inside one
 * transaction that only one process holds at a time, so replicas starting together wait for each
 * other. Databases from before checksums were recorded get theirs on the first start: the files
 * they ran are taken as they are now.
 */
export async function applyMigrations(q: MigrationSession, dialect: Dialect, migrations = loadMigrations(dialect.name)): Promise<string[]> {
  await q.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL, checksum TEXT)');
  const columns = await q.all<{ name: string }>(dialect.columnNames, ['schema_migrations']);
  if (!columns.some((column) => column.name === 'checksum')) await q.exec('ALTER TABLE schema_migrations ADD COLUMN checksum TEXT');
  const landed = new Map(
    (await q.all<{ name: string; checksum: string | null }>('SELECT name, checksum FROM schema_migrations')).map((row) => [row.name, row.checksum]),
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    if (!landed.has(migration.name)) {
      await q.exec(migration.sql);
      await q.run('INSERT INTO schema_migrations (name, applied_at, checksum) VALUES (?, ?, ?)', [migration.name, Date.now(), migration.checksum]);
      applied.push(migration.name);
      continue;
    }
    const recorded = landed.get(migration.name);
    if (recorded === null || recorded === undefined) {
      await q.run('UPDATE schema_migrations SET checksum = ? WHERE name = ?', [migration.checksum, migration.name]);
    } else if (recorded !== migration.checksum) {
      throw new UnavailableError(
        `migration ${migration.name} was edited after this database applied it (checksum ${recorded.slice(0, 12)}…, the file now ${migration.checksum.slice(0, 12)}…): ` +
          'restore the file as it was and put the change in a new numbered migration',
        { migration: migration.name },
      );
    }
  }
  return applied;
}
