// A throttle on last_seen writes: a busy agent's row is written a few times a second instead of on
// every transition it makes.
//
// It is per-process state, and that is safe because it is only a throttle: the database keeps the
// truth (last_seen, status). With several replicas each keeps its own, so an agent's row is written at
// most once per window per replica; an agent another replica marked offline is written back online at
// the latest one window later; a restart forgets everything, which only costs one extra write each.

/** How stale a busy agent's last_seen may be; far below the shortest offline threshold (0.6 s). */
export const LAST_SEEN_WINDOW_MS = 250;

/** Rows remembered at most; beyond it, entries older than the window are dropped. */
const MAX_REMEMBERED = 10_000;

type LastWrite = { at: number; name: string | null };

export class LastSeenThrottle {
  private readonly written = new Map<string, LastWrite>();

  constructor(private readonly windowMs = LAST_SEEN_WINDOW_MS) {}

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

  /** The row changed behind our back (marked offline): the next time the agent is seen, it is written. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.written.delete(id);
  }
}
