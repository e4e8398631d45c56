// Maps SQLite failures to Athena's typed errors: a failing disk or file is UnavailableError (503).
import { UnavailableError } from '../../errors.js';

/** Error codes that mean the storage itself is failing, not the request. */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PROTOCOL)/;

/** What an operator should look at, by SQLite's primary error code. */
const STORAGE_PROBLEMS: Array<[RegExp, string]> = [
  [/^SQLITE_FULL/, 'the disk holding the database is full'],
  [/^SQLITE_READONLY/, 'the database file or its directory is read-only'],
  [/^SQLITE_IOERR/, 'the disk reported an I/O error'],
  [/^SQLITE_(BUSY|LOCKED)/, 'the database is locked by another process'],
  [/^SQLITE_CANTOPEN/, 'the database file cannot be opened'],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'the database file is damaged'],
];

/** Storage failures become UnavailableError saying what is wrong; anything else is returned unchanged. */
export function toDomainError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
    const problem = STORAGE_PROBLEMS.find(([re]) => re.test(code))?.[1] ?? 'the storage failed';
    return new UnavailableError(`Database unavailable: ${problem} (${code}: ${(err as Error).message}); retry once it is fixed`, { code });
  }
  return err;
}

export function mapSqliteError(err: unknown): never {
  throw toDomainError(err);
}
