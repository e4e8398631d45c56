// The event bus of a replica: events this process wrote and events the cross-replica feed read
// back from task_logs meet here, and each event id is emitted once.
import type { EventBus, EventListener } from '../core/events.js';
import type { TaskEvent } from '../core/types.js';

export type ReplicaBus = EventBus & {
  /** Emits an event read back from the database (possibly written by another replica). */
  emitFromFeed(event: TaskEvent): void;
  /** Called for every event this process emitted itself, after its commit (duplicates included). */
  onLocalEvent(listener: EventListener): () => void;
};

/**
 * The feed may read a row this process committed before the queue has emitted it (the commit
 * returns, the feed's read runs, then the queue emits), so whichever arrives second is dropped.
 * Ids are remembered for `keepMs`, far longer than that gap.
 */
export function createReplicaBus(
  bus: EventBus,
  options: { keepMs?: number; now?: () => number; onListenerError?: (err: unknown) => void } = {},
): ReplicaBus {
  const keepMs = options.keepMs ?? 60_000;
  const now = options.now ?? Date.now;
  const seen = new Map<number, number>(); // id -> when emitted; insertion order is time order
  const localListeners = new Set<EventListener>();
  const onListenerError = options.onListenerError ?? (() => {});
  let prunedAt = now();

  function emitOnce(event: TaskEvent): void {
    if (seen.has(event.id)) return;
    const at = now();
    seen.set(event.id, at);
    if (at - prunedAt > keepMs / 4) {
      for (const [id, when] of seen) {
        if (at - when < keepMs) break;
        seen.delete(id);
      }
      prunedAt = at;
    }
    bus.emit(event);
  }

  return {
    emit(event) {
      emitOnce(event);
      // Isolated as core/events.ts isolates its listeners: the transition is already committed, so one
      // throwing listener must neither fail the request that made it nor starve the others.
      for (const listener of localListeners) {
        try {
          listener(event);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    emitFromFeed: emitOnce,
    onLocalEvent(listener) {
      localListeners.add(listener);
      return () => localListeners.delete(listener);
    },
    subscribe: (listener) => bus.subscribe(listener),
    lastId: () => bus.lastId(),
  };
}
