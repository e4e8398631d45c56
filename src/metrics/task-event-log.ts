// Writes the task transitions this replica makes to the log, each line with its taskId and instanceId.
import type { EventBus } from '../core/events.js';
import type { TaskEvent } from '../core/types.js';
import type { Logger } from '../logger.js';

/** Transitions an operator wants to see at the default level; the rest are `debug`. */
const NOTEWORTHY = new Set(['failed', 'requeued', 'blocked', 'purged', 'imported']);

/** Subscribes to the bus (this replica's own events when it can tell) and returns the unsubscribe. */
export function logTaskEvents(bus: EventBus & { onLocalEvent?: EventBus['subscribe'] }, log: Logger): () => void {
  const listen = bus.onLocalEvent ? bus.onLocalEvent.bind(bus) : bus.subscribe.bind(bus);
  return listen((event: TaskEvent) => {
    const level = NOTEWORTHY.has(event.type) ? 'info' : 'debug';
    if (!log.isLevelEnabled(level)) return;
    const context: Record<string, unknown> = { event: event.type, eventId: event.id };
    if (event.taskId !== null) context.taskId = event.taskId;
    const instanceId = event.instanceId ?? event.task?.instanceId ?? null;
    if (instanceId) context.instanceId = instanceId;
    log[level]({ ...context, details: event.details ?? undefined, status: event.task?.status }, `task ${event.type}`);
  });
}
