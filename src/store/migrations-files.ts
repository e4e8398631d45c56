// Finds the numbered .sql migrations of a backend, in order, wherever the package is installed.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Migration = { name: string; sql: string };

function migrationsRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Source (src/store) and bundle (dist/) both resolve to src/store/migrations.
  const candidates = [join(here, 'migrations'), resolve(here, '../src/store/migrations'), resolve(here, '../../src/store/migrations')];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`migrations folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function loadMigrations(backend: 'sqlite' | 'postgres'): Migration[] {
  const dir = join(migrationsRoot(), backend);
  return readdirSync(dir)
    .filter((file) => /^\d{3}_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ name: file, sql: readFileSync(join(dir, file), 'utf8') }));
}
