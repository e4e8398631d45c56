// Hand-driven clock and timers for the loop runner: advance() fires due timers in order and lets their async work settle.
import type { LoopTimers } from '../../src/jobs/loop-runner.js';
import type { TestClock } from '../helpers/stores.js';

export type FakeTimers = LoopTimers & {
  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): Promise<void>;
  /** When the earliest pending timer fires, or null. */
  nextAt(): number | null;
  pending(): number;
};

/** Lets promise chains started by a timer (including a few awaited SQLite calls) run to their end. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * `busy` (e.g. "a loop run is in flight") makes advance() also wait in real time for work that needs
 * real I/O, such as PostgreSQL round trips, before moving the clock on.
 */
export function fakeTimers(clock: TestClock, options: { busy?: () => boolean } = {}): FakeTimers {
  const quiet = async () => {
    await settle();
    for (let waited = 0; options.busy?.() && waited < 10_000; waited += 2) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await settle(2);
    }
  };
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const earliest = (until: number) => {
    let found: [number, { at: number; fn: () => void }] | null = null;
    for (const entry of timers) {
      if (entry[1].at <= until && (!found || entry[1].at < found[1].at || (entry[1].at === found[1].at && entry[0] < found[0]))) found = entry;
    }
    return found;
  };
  return {
    now: () => clock.now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: clock.now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const target = clock.now + ms;
      for (;;) {
        const due = earliest(target);
        if (!due) break;
        timers.delete(due[0]);
        clock.now = Math.max(clock.now, due[1].at);
        due[1].fn();
        await quiet();
      }
      clock.now = target;
      await quiet();
    },
    nextAt() {
      let at: number | null = null;
      for (const t of timers.values()) if (at === null || t.at < at) at = t.at;
      return at;
    },
    pending: () => timers.size,
  };
}
