// The queue: assembles the task transitions (one file each under transitions/), reads, bulk actions and the event log over one store.
import { createBulkActions } from './bulk-actions.js';
import { createEventLog } from './event-log.js';
import { createQueueControls } from './queue-controls.js';
import { createQueueReads } from './queue-reads.js';
import { createSchedules } from './schedules.js';
import { askAnswerTransitions } from './transitions/ask-answer.js';
import { announceTransition } from './transitions/announce.js';
import { cancelTransition } from './transitions/cancel.js';
import { claimTransitions } from './transitions/claim.js';
import { completeTransition } from './transitions/complete.js';
import { createTransition } from './transitions/create.js';
import { dependencyTransition } from './transitions/dependencies.js';
import { failTransition } from './transitions/fail.js';
import { heartbeatTransition } from './transitions/heartbeat.js';
import { instanceTransitions } from './transitions/instances.js';
import { createTransitionKit, type QueueDeps } from './transitions/kit.js';
import { priorityTransition } from './transitions/priority.js';
import { releaseTransition } from './transitions/release.js';
import { requeueHeldTransition } from './transitions/requeue-held.js';
import { retryTransition } from './transitions/retry.js';
import { reviewTransition } from './transitions/review.js';
import { createOutputFeed, createTaskOutput, DEFAULT_OUTPUT_MAX_BYTES } from './task-output.js';
import { sweepTransition } from './transitions/sweep.js';
import { reopenTransition } from './transitions/reopen.js';
import { createEdit } from './transitions/edit.js';
import { createDelete } from './transitions/delete.js';
import { createComments } from './transitions/comments.js';

export type { Agent, Fence, QueueConfig, QueueDeps } from './transitions/kit.js';
export type { CreateInput } from './transitions/create.js';

export type Queue = ReturnType<typeof createQueue>;

export function createQueue(deps: QueueDeps) {
  const { store, bus, config } = deps;
  const now = deps.clock ?? Date.now;
  const reads = createQueueReads(store, now);
  const kit = createTransitionKit({ ...deps, clock: now }, reads);

  return {
    bus,
    config,
    now,

    ...createTransition(kit),
    ...claimTransitions(kit),
    ...heartbeatTransition(kit),
    ...completeTransition(kit),
    ...failTransition(kit),
    ...releaseTransition(kit),
    ...requeueHeldTransition(kit),
    ...cancelTransition(kit),
    ...priorityTransition(kit),
    ...askAnswerTransitions(kit),
    ...retryTransition(kit),
    ...reviewTransition(kit),
    ...createTaskOutput({ store, feed: deps.outputFeed ?? createOutputFeed(), now, maxBytes: config.outputMaxBytes ?? DEFAULT_OUTPUT_MAX_BYTES }),
    ...dependencyTransition(kit),
    ...announceTransition(kit),
    ...sweepTransition(kit),
    ...instanceTransitions(kit),
    ...reopenTransition(kit),
    edit: createEdit(store, kit.publish, now),
    remove: createDelete(store, kit.publish, now),
    ...createComments(store, kit.publish, now),

    ...reads,
    ...createEventLog(store, now),
    ...createBulkActions(store, kit.publish, now),
    ...createQueueControls(store, now, kit.publish),
    ...createSchedules({ store, now, publish: kit.publish, config }),
  };
}
