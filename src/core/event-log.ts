// The event log as its readers see it (dashboard stream, Discord notifier, retention): events after a
// position, the newest event id, and named cursors that keep a reader's place across restarts.
import type { EventLogPort, Store } from './ports.js';

export function createEventLog(store: Store, now: () => number) {
  // Each call reaches the store when made, not bound up front, so a store swapped or wrapped later is the one used.
  return {
    lastEventId: (): Promise<number> => store.lastEventId(),
    eventsSince: (afterId: number, limit: number) => store.eventsSince(afterId, limit),
    getCursor: (name: string): Promise<number | null> => store.getCursor(name),
    /** Records a reader's position; `at` (default: now) is when, kept for people reading the table. */
    setCursor: (name: string, position: number, at: number = now()): Promise<void> => store.setCursor(name, position, at),
  } satisfies EventLogPort;
}
