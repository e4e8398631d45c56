// In-process fan-out of task events to the surfaces that care (waiters, notifier, SSE, metrics).
import type { TaskEvent } from './types.js';

export type EventListener = (event: TaskEvent) => void;

export type EventBus = {
  emit(event: TaskEvent): void;
  subscribe(listener: EventListener): () => void;
  /** Highest event id emitted so far (events arrive from this process and, on Postgres, from other replicas). */
  lastId(): number;
};

export function createEventBus(onListenerError: (err: unknown) => void = () => {}): EventBus {
  const listeners = new Set<EventListener>();
  let last = 0;
  return {
    emit(event) {
      if (event.id > last) last = event.id;
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    lastId: () => last,
  };
}
