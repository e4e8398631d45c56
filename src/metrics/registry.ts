// Prometheus metrics of one server, on its own registry: queue state, transitions, claim latency, loops, outbox, HTTP.
// Per replica, as Prometheus expects (it scrapes each replica, labelled by instance): counters and
// histograms count this replica's own work (sum them over replicas); the queue gauges read the
// database, so every replica reports the same cluster-wide value (take max, not sum); loop metrics
// move with the leader, which runs the loops.
import type { ConcurrencyLimit } from '../core/queue-controls-types.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../core/events.js';
import type { Queue } from '../core/queue.js';
import { INSTANCE_STATUSES, TASK_STATUSES, type Stats, type TaskEvent } from '../core/types.js';
import type { LoopRunOutcome } from '../jobs/loop-runner.js';

export type Metrics = {
  registry: Registry;
  /** One finished HTTP request; `route` is the route pattern (e.g. /api/tasks/:id), never the raw URL. */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /** A loop started (the loop runner's onLoopStart): its counters show 0 until it runs. */
  observeLoopStart(name: string): void;
  /** One finished loop run (the loop runner's onRunEnd). */
  observeLoopRun(outcome: LoopRunOutcome): void;
  /** Stops listening to the event bus. */
  close(): void;
};

const TRANSITION_COUNTERS = {
  created: ['athena_tasks_created_total', 'Tasks created'],
  claimed: ['athena_tasks_claimed_total', 'Claims (a task claimed again after a requeue counts again)'],
  completed: ['athena_tasks_completed_total', 'Tasks completed'],
  failed: ['athena_tasks_failed_total', 'Tasks that ended failed (out of attempts, or failed without retry)'],
  in_review: ['athena_tasks_in_review_total', 'Completions of tasks that require review (they wait in in_review for a person)'],
  changes_requested: ['athena_tasks_changes_requested_total', 'Reviews that sent a task back to its agent with feedback'],
  requeued: ['athena_tasks_requeued_total', 'Tasks put back to pending after a failed attempt or an expired lease'],
} as const;

export type MetricsDeps = {
  queue: Pick<Queue, 'stats' | 'now'> & Partial<Pick<Queue, 'pauses' | 'limits'>> & { bus: EventBus };
  /** Events the Discord notifier has not processed yet, read at scrape time; null when there is no notifier. */
  outboxBacklog?: () => Promise<number | null>;
  defaultMetrics?: boolean;
};

export function createMetrics(deps: MetricsDeps): Metrics {
  const { queue } = deps;
  const registry = new Registry();
  if (deps.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  // One stats read per scrape, shared by the gauges below (the registry collects them concurrently).
  let reading: Promise<Stats | null> | null = null;
  const readStats = (): Promise<Stats | null> =>
    (reading ??= queue
      .stats()
      .catch(() => null)
      .finally(() => {
        reading = null;
      }));

  new Gauge({
    name: 'athena_database_up',
    help: '1 when this scrape could read the queue from the database',
    registers: [registry],
    async collect() {
      this.set((await readStats()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'athena_tasks',
    help: 'Tasks by state, read from the database at scrape time',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const stats = await readStats();
      if (stats) for (const state of TASK_STATUSES) this.set({ state }, stats.byStatus[state] ?? 0);
    },
  });
  new Gauge({
    name: 'athena_oldest_pending_task_age_seconds',
    help: 'Age of the oldest pending task (0 when none is pending)',
    registers: [registry],
    async collect() {
      const stats = await readStats();
      if (stats) this.set(stats.oldestPendingAt === null ? 0 : Math.max(0, (queue.now() - stats.oldestPendingAt) / 1000));
    },
  });
  new Gauge({
    name: 'athena_instances',
    help: 'Agents by status (idle, working, offline)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const stats = await readStats();
      if (!stats) return;
      for (const status of INSTANCE_STATUSES) this.set({ status }, stats.instances.filter((i) => i.status === status).length);
    },
  });

  new Gauge({
    name: 'athena_paused',
    help: '1 for each paused scope (queue, label:<name>, project:<name>)',
    labelNames: ['scope'],
    registers: [registry],
    async collect() {
      const pauses = await queue.pauses?.().catch(() => null);
      if (!pauses) return;
      this.reset();
      for (const pause of pauses) this.set({ scope: pause.scope }, 1);
    },
  });
  for (const [name, help, value] of [
    ['athena_concurrency_limit', 'Concurrency limit of each label or project scope that has one', (l: ConcurrencyLimit) => l.max],
    ['athena_concurrency_held', 'Tasks held now in each label or project scope that has a concurrency limit', (l: ConcurrencyLimit) => l.held],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['scope'],
      registers: [registry],
      async collect() {
        const limits = await queue.limits?.().catch(() => null);
        if (!limits) return;
        this.reset();
        for (const limit of limits) this.set({ scope: limit.scope }, value(limit));
      },
    });
  }

  const transitions = Object.fromEntries(
    Object.entries(TRANSITION_COUNTERS).map(([type, [name, help]]) => [type, new Counter({ name, help, registers: [registry] })]),
  ) as Record<keyof typeof TRANSITION_COUNTERS, Counter>;
  const claimLatency = new Histogram({
    name: 'athena_claim_latency_seconds',
    help: 'Time a task waited from becoming claimable (created, or its run_after) to its claim',
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600],
    registers: [registry],
  });

  // Each replica counts the transitions it made itself (a replica's bus also carries the others'
  // events), so summing a counter over replicas gives the cluster's total.
  const bus = queue.bus as EventBus & { onLocalEvent?: EventBus['subscribe'] };
  const listen = bus.onLocalEvent ? bus.onLocalEvent.bind(bus) : bus.subscribe.bind(bus);
  const unsubscribe = listen((event: TaskEvent) => {
    const counter = transitions[event.type as keyof typeof TRANSITION_COUNTERS];
    if (!counter) return;
    counter.inc();
    if (event.type === 'claimed' && event.task?.claimedAt) {
      const claimableSince = Math.max(event.task.createdAt, event.task.runAfter ?? 0);
      claimLatency.observe(Math.max(0, (event.task.claimedAt - claimableSince) / 1000));
    }
  });

  const loopRuns = new Counter({ name: 'athena_loop_runs_total', help: 'Background loop runs', labelNames: ['loop'], registers: [registry] });
  const loopErrors = new Counter({ name: 'athena_loop_errors_total', help: 'Background loop runs that failed', labelNames: ['loop'], registers: [registry] });
  const loopDuration = new Histogram({
    name: 'athena_loop_duration_seconds',
    help: 'Duration of background loop runs',
    labelNames: ['loop'],
    buckets: [0.001, 0.01, 0.05, 0.25, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  const loopLastSuccess = new Gauge({
    name: 'athena_loop_last_success_timestamp_seconds',
    help: 'When each loop last ran without error (Unix time)',
    labelNames: ['loop'],
    registers: [registry],
  });

  new Gauge({
    name: 'athena_outbox_backlog',
    help: 'Events the Discord notifier has not delivered yet (its persisted cursor behind the newest event)',
    registers: [registry],
    async collect() {
      const backlog = await deps.outboxBacklog?.().catch(() => null);
      if (backlog !== null && backlog !== undefined) this.set(backlog);
    },
  });

  const httpDuration = new Histogram({
    name: 'athena_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  });

  return {
    registry,
    observeHttp(method, route, status, seconds) {
      httpDuration.observe({ method, route, status: String(status) }, seconds);
    },
    observeLoopStart(name) {
      loopRuns.inc({ loop: name }, 0);
      loopErrors.inc({ loop: name }, 0);
    },
    observeLoopRun(outcome) {
      loopRuns.inc({ loop: outcome.name });
      loopDuration.observe({ loop: outcome.name }, outcome.durationMs / 1000);
      if (outcome.ok) loopLastSuccess.set({ loop: outcome.name }, outcome.finishedAt / 1000);
      else loopErrors.inc({ loop: outcome.name });
    },
    close: unsubscribe,
  };
}
