// Task transitions in the log: one JSON line each, with taskId and instanceId, noteworthy ones at info.
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { logTaskEvents } from '../../src/metrics/task-event-log.js';
import { openTestQueue, sqliteBackend, type TestQueue } from '../helpers/stores.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger(level, { destination }), lines };
}

describe('task event log', () => {
  let t: TestQueue;
  beforeEach(async () => {
    t = await openTestQueue(sqliteBackend, { leaseMs: 60_000 });
  });
  afterEach(async () => t.cleanup());

  it('logs an expired lease as a requeue with the task and the agent that held it', async () => {
    const { log, lines } = capture('info');
    const stop = logTaskEvents(t.bus, log);
    const { task } = await t.queue.create({ description: 'x' });
    await t.queue.claimNext({ instanceId: 'host-a' });
    t.clock.advance(61_000);
    await t.queue.sweepExpiredLeases();
    stop();
    await t.queue.create({ description: 'after unsubscribing' });

    // created and claimed are debug; the requeue is info.
    expect(lines.map((l) => l.msg)).toEqual(['task requeued']);
    expect(lines[0]).toMatchObject({ level: 30, event: 'requeued', taskId: task.id, status: 'pending' });
    expect(String(lines[0]!.details)).toContain('lease expired');
  });

  it('at debug, every transition is there with its context', async () => {
    const { log, lines } = capture('debug');
    const stop = logTaskEvents(t.bus, log);
    const { task } = await t.queue.create({ description: 'x' });
    const claimed = await t.queue.claimNext({ instanceId: 'host-b' });
    await t.queue.complete(task.id, { leaseToken: claimed!.leaseToken });
    stop();
    expect(lines.map((l) => [l.event, l.taskId, l.instanceId ?? null])).toEqual([
      ['created', task.id, null],
      ['claimed', task.id, 'host-b'],
      ['completed', task.id, 'host-b'],
    ]);
  });
});
