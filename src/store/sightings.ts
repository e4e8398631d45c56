// When this process last wrote each agent's last_seen: a busy agent's row is written a few times a
// second instead of on every transition it makes.

/** How stale a busy agent's last_seen may be; far below the shortest offline threshold (0.6 s). */
export const SIGHTING_WINDOW_MS = 250;

/** Rows remembered at most; beyond it, entries older than the window are dropped. */
const MAX_REMEMBERED = 10_000;

type Sighting = { at: number; name: string | null };

export class Sightings {
  private readonly written = new Map<string, Sighting>();

  constructor(private readonly windowMs = SIGHTING_WINDOW_MS) {}

  /** True when the agent's row should be written now: not written lately, or under a new name. */
  due(id: string, name: string | null, now: number): boolean {
    const last = this.written.get(id);
    if (!last) return true;
    // A clock that went back (tests, NTP steps) counts as due too.
    return now - last.at >= this.windowMs || now < last.at || (name !== null && name !== last.name);
  }

  /** Call once the write has committed. */
  wrote(id: string, name: string | null, now: number): void {
    const last = this.written.get(id);
    this.written.set(id, { at: now, name: name ?? last?.name ?? null });
    if (this.written.size > MAX_REMEMBERED) {
      for (const [key, value] of this.written) if (now - value.at >= this.windowMs) this.written.delete(key);
    }
  }

  /** The row changed behind our back (marked offline): the next sighting writes. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.written.delete(id);
  }
}
