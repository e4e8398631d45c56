// Short holds on the tasks GET /api/tasks/next shows. Agents of the original protocol peek at the
// next task and then claim it by id; when many poll together they were all shown the same task and
// all but one lost the claim (409) and polled again. A task shown is now held for a moment, and the
// next peek shows the first pending task not held, so agents polling together are shown different
// tasks. A caller that names itself (an instance id) is shown its own held task again, so asking
// twice gives one answer. Holds only change what a peek shows; the claim stays the atomic check.

/** How long a task shown by a peek is passed over by other peeks (unless it is the only one). */
export const PEEK_HOLD_MS = 2_000;
/** At most this many pending tasks are looked at to find one not held. */
export const PEEK_WINDOW_MAX = 64;

export type PeekHolds = ReturnType<typeof createPeekHolds>;

export function createPeekHolds(now: () => number, holdMs = PEEK_HOLD_MS, windowMax = PEEK_WINDOW_MAX) {
  // Insertion order is expiry order (every hold is as long, and a renewed hold moves to the end),
  // so expired holds are dropped from the front.
  const held = new Map<number, { until: number; holder: string | null }>();

  function dropExpired(t: number): void {
    for (const [id, hold] of held) {
      if (hold.until > t) return;
      held.delete(id);
    }
  }

  return {
    /**
     * How many pending ids (in queue order) a peek should read to get past every hold: at least
     * `atLeast` (a peek that found all it read held asks again for more), at most the window's limit.
     */
    window(atLeast = 1): number {
      dropExpired(now());
      return Math.min(Math.max(held.size + 1, atLeast), windowMax);
    },

    /**
     * Picks from pending ids in queue order the one held for this holder, else the first not held,
     * and holds it for the holder; null when every one is held by others.
     */
    pick(ids: readonly number[], holder: string | null): number | null {
      const own = holder === null ? undefined : ids.find((id) => held.get(id)?.holder === holder);
      const chosen = own ?? ids.find((id) => !held.has(id));
      if (chosen === undefined) return null;
      held.delete(chosen);
      held.set(chosen, { until: now() + holdMs, holder });
      return chosen;
    },

    /** A claimed task needs no hold any more (it is no longer shown, and must not widen the window). */
    release(id: number): void {
      held.delete(id);
    },
  };
}
