// Wraps the event bus so each event id is emitted once, whether this process wrote it or the
// cross-replica feed read it back from task_logs.
import type { EventBus } from '../core/events.js';

/**
 * The feed may read a row this process committed before the queue has emitted it (the commit
 * returns, the feed's read runs, then the queue emits), so the second arrival is dropped.
 * Ids are remembered for `keepMs`, far longer than a commit-to-emit gap.
 */
export function emitOnce(bus: EventBus, options: { keepMs?: number; now?: () => number } = {}): EventBus {
  const keepMs = options.keepMs ?? 60_000;
  const now = options.now ?? Date.now;
  const seen = new Map<number, number>(); // id -> when emitted; insertion order is time order
  let prunedAt = now();

  function prune(at: number): void {
    for (const [id, when] of seen) {
      if (at - when < keepMs) break;
      seen.delete(id);
    }
    prunedAt = at;
  }

  return {
    emit(event) {
      if (seen.has(event.id)) return;
      const at = now();
      seen.set(event.id, at);
      if (at - prunedAt > keepMs / 4) prune(at);
      bus.emit(event);
    },
    subscribe: (listener) => bus.subscribe(listener),
    lastId: () => bus.lastId(),
  };
}
