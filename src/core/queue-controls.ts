// Pause and resume the queue (whole, or one label or project) and set concurrency limits; each change is logged as an event.
import { InvalidError, NotFoundError } from '../errors.js';
import { LABEL_PATTERN, LIMITS } from './limits.js';
import type { Store } from './ports.js';
import { scopeText, type ConcurrencyLimit, type LimitScope, type Pause, type PauseScope } from './queue-controls-types.js';
import type { TaskEvent } from './types.js';

/** Events the queue controls log: waiters look again after a resume or a limit change. */
export const CONTROL_EVENTS = ['queue_paused', 'queue_resumed', 'limit_set', 'limit_removed'] as const;

export const LIMIT_MAX = 10_000;

/** Parses `queue`, `label:<name>` or `project:<name>`; refused otherwise. */
export function parsePauseScope(text: string | undefined | null): PauseScope {
  if (text === undefined || text === null || text === '' || text === 'queue') return { kind: 'queue' };
  return parseLimitScope(text);
}

/** Parses `label:<name>` or `project:<name>`. */
export function parseLimitScope(text: string): LimitScope {
  const match = /^(label|project):(.+)$/.exec(text);
  if (!match) throw new InvalidError(`scope must be "label:<name>" or "project:<name>" (got "${text}")`, { scope: text });
  const kind = match[1] as 'label' | 'project';
  const value = match[2]!;
  if (kind === 'label' && (value.length > LIMITS.labelMax || !LABEL_PATTERN.test(value))) {
    throw new InvalidError(`label "${value}" is not a valid label`, { scope: text });
  }
  if (kind === 'project' && value.length > LIMITS.projectMax) throw new InvalidError(`project is longer than ${LIMITS.projectMax} characters`, { scope: text });
  return { kind, value };
}

export function createQueueControls(store: Store, now: () => number, publish: (events: TaskEvent[]) => void) {
  const log = async (action: (typeof CONTROL_EVENTS)[number], details: string) => {
    const event = await store.recordEvent({ action, details }, now());
    publish([event]);
  };
  return {
    /** Claims hand out nothing in this scope until it is resumed; creates still work. Pausing again updates who and why. */
    async pause(scope: PauseScope, by: string | null, reason: string | null): Promise<Pause> {
      const pause = await store.setPause(scope, by, reason, now());
      await log('queue_paused', `${scopeText(scope)} paused${by ? ` by ${by}` : ''}${reason ? `: ${reason}` : ''}`);
      return pause;
    },

    /** Lifts a pause; NotFound when the scope was not paused. */
    async resume(scope: PauseScope, by: string | null): Promise<Pause> {
      const removed = await store.removePause(scope);
      if (!removed) throw new NotFoundError(`${scopeText(scope)} is not paused`, { scope: scopeText(scope) });
      await log('queue_resumed', `${scopeText(scope)} resumed${by ? ` by ${by}` : ''}`);
      return removed;
    },

    pauses(): Promise<Pause[]> {
      return store.listPauses();
    },

    /** At most `max` tasks of this scope held at once, across agents and replicas (0 stops claims in it). */
    async setLimit(scope: LimitScope, max: number, by: string | null): Promise<ConcurrencyLimit> {
      if (!Number.isInteger(max) || max < 0 || max > LIMIT_MAX) throw new InvalidError(`limit must be a whole number from 0 to ${LIMIT_MAX}`, { max });
      const limit = await store.setLimit(scope, max, by, now());
      await log('limit_set', `${scopeText(scope)} limited to ${max} at once${by ? ` by ${by}` : ''}`);
      return limit;
    },

    async removeLimit(scope: LimitScope, by: string | null): Promise<void> {
      if (!(await store.removeLimit(scope))) throw new NotFoundError(`${scopeText(scope)} has no limit`, { scope: scopeText(scope) });
      await log('limit_removed', `${scopeText(scope)} limit removed${by ? ` by ${by}` : ''}`);
    },

    limits(): Promise<ConcurrencyLimit[]> {
      return store.listLimits();
    },
  };
}
