// announce: a message about the queue as a whole (daily summary, retention notice), through the event log.
import type { AnnouncementKind, TaskEvent } from '../types.js';
import type { TransitionKit } from './kit.js';

export function announceTransition({ store, now, publish }: TransitionKit) {
  return {
    /** Through the event log, so it is delivered like every notification: durably, once, by whichever replica runs Discord. */
    async announce(kind: AnnouncementKind, text: string): Promise<TaskEvent> {
      const event = await store.recordEvent({ action: kind, details: text }, now());
      publish([event]);
      return event;
    },
  };
}
