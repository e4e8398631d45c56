// Schedules loop: on the leader, creates the tasks of due schedules (the database makes each run happen once).
import type { Queue } from '../core/queue.js';
import type { LoopSpec } from './loop-runner.js';

/** How late a run may be and still count as on time: a few ticks, and never under a minute. */
export const scheduleGraceMs = (everyMs: number): number => Math.max(60_000, 4 * everyMs);

export function schedulesLoop(queue: Pick<Queue, 'tickSchedules'>, options: { everyMs: number }): LoopSpec {
  const graceMs = scheduleGraceMs(options.everyMs);
  return {
    name: 'schedules',
    schedule: { kind: 'interval', everyMs: options.everyMs },
    // Small jitter: a run should be created within seconds of its time.
    jitterMs: Math.min(500, options.everyMs / 10),
    async run({ log }) {
      // One broken schedule is logged and skipped; the rest still run. A failing database throws, and the runner backs off.
      const summary = await queue.tickSchedules(graceMs, (schedule, err) => log.child({ scheduleId: schedule.id }).error({ err }, 'schedule run failed'));
      if (summary.created + summary.missed + summary.open + summary.failed > 0) log.info(summary, 'schedules ran');
      return summary;
    },
  };
}
