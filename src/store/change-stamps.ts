// Stamps of the small tables every claim or every event reads (migration 017): how a statement checks
// that rows a process keeps of them are still the ones in force, and a bounded cache of such rows.

/** The tables with a stamp: pauses and limits together (`queue_controls`), and webhooks. */
export type StampedTable = 'queue_controls' | 'webhooks';

/**
 * A scalar subquery: the table's stamp as the statement that holds it sees it. On PostgreSQL's READ
 * COMMITTED that is the statement's own snapshot, so rows cached under this stamp are exactly the
 * rows the statement would have read itself.
 */
export function stampOf(table: StampedTable): string {
  return `(SELECT stamp FROM change_stamps WHERE name = '${table}')`;
}

/**
 * Values derived from a table's rows, by the stamp they were read at. Every change writes a new
 * random stamp in its own transaction, so one stamp means one content wherever it is read: one
 * cache serves every database a process opens (tests open many; a copied database carries its
 * rows and their stamp together). Holds the last few stamps seen, dropping the oldest.
 */
export class StampedCache<T> {
  private readonly entries = new Map<number, T>();

  constructor(private readonly capacity = 16) {}

  get(stamp: number): T | undefined {
    return this.entries.get(stamp);
  }

  set(stamp: number, value: T): void {
    this.entries.delete(stamp);
    this.entries.set(stamp, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
