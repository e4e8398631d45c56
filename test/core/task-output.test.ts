// Live output in the core, on each backend: only the holder appends, order and retries, the cap, runs kept apart, retention.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/refusals.js';
import type { OutputChunk } from '../../src/core/task-output.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

const agent = { instanceId: 'host-a' };
const CAP = 64;

describe.each(backends)('task output on $name', (backend) => {
  let t: TestQueue;
  let chunks: OutputChunk[];
  beforeEach(async () => {
    t = await openTestQueue(backend, { outputMaxBytes: CAP });
    chunks = [];
    t.queue.output.subscribe((c) => chunks.push(c));
  });
  afterEach(async () => t.cleanup());

  async function claimed() {
    const { task } = await t.queue.create({ description: 'run the tests' });
    return { id: task.id, lease: (await t.queue.claimNext(agent))!.leaseToken };
  }

  it('keeps the order the worker counts, stores a batch sent twice once, and announces only what is new', async () => {
    const { id, lease } = await claimed();
    expect(await t.queue.appendOutput(id, { leaseToken: lease, offset: 0, text: 'line 1\n' })).toEqual({ run: 1, end: 7 });
    // The second batch arrives before a resend of the first: offsets put them in place.
    await t.queue.appendOutput(id, { leaseToken: lease, offset: 7, text: 'line 2\n' });
    await t.queue.appendOutput(id, { leaseToken: lease, offset: 0, text: 'line 1\n' });
    // A resend that carries more than before: only the new part is stored.
    await t.queue.appendOutput(id, { leaseToken: lease, offset: 7, text: 'line 2\nline 3 ✓\n' });
    const all = await t.queue.readOutput(id);
    expect(all).toEqual({ run: 1, start: 0, end: 25, text: 'line 1\nline 2\nline 3 ✓\n' });
    expect(chunks.map((c) => [c.offset, c.text])).toEqual([[0, 'line 1\n'], [7, 'line 2\n'], [14, 'line 3 ✓\n']]);
    expect(await t.queue.readOutput(id, { since: 14 })).toMatchObject({ start: 14, text: 'line 3 ✓\n' });
    expect(await t.queue.readOutput(id, { since: 25 })).toMatchObject({ start: 25, end: 25, text: '' });
  });

  it('keeps the newest OUTPUT_MAX_BYTES of a run', async () => {
    const { id, lease } = await claimed();
    let offset = 0;
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      const line = `line ${String(i).padStart(2, '0')}\n`;
      lines.push(line);
      await t.queue.appendOutput(id, { leaseToken: lease, offset, text: line });
      offset += line.length;
    }
    const read = await t.queue.readOutput(id);
    expect(read.end).toBe(offset);
    expect(read.start).toBe(offset - CAP);
    expect(read.text).toBe(lines.join('').slice(-CAP));
    const stored = await t.db.get<{ n: number }>('SELECT SUM(byte_length) AS n FROM task_output WHERE task_id = ?', [id]);
    expect(Number(stored?.n)).toBeLessThanOrEqual(CAP + 8);
  });

  it('only the holder of the lease appends; a finished task takes no more output', async () => {
    const { id, lease } = await claimed();
    expect(await codeOf(t.queue.appendOutput(id, { leaseToken: 'stale', offset: 0, text: 'x' }))).toBe('LEASE_MISMATCH');
    expect(await codeOf(t.queue.appendOutput(9999, { leaseToken: lease, offset: 0, text: 'x' }))).toBe('NOT_FOUND');
    await t.queue.complete(id, { leaseToken: lease });
    expect(await codeOf(t.queue.appendOutput(id, { leaseToken: lease, offset: 0, text: 'late' }))).toBe('CONFLICT');
    expect((await t.queue.readOutput(id)).text).toBe('');
    expect(chunks).toEqual([]);
  });

  it('keeps each run apart, even when a release gave the attempt back', async () => {
    const { id, lease } = await claimed();
    await t.queue.appendOutput(id, { leaseToken: lease, offset: 0, text: 'first run\n' });
    await t.queue.release(id, { leaseToken: lease });
    const again = (await t.queue.claimNext(agent))!;
    expect(again).toMatchObject({ attempts: 1, runs: 2 });
    await t.queue.appendOutput(id, { leaseToken: again.leaseToken, offset: 0, text: 'second run\n' });
    expect((await t.queue.readOutput(id)).text).toBe('second run\n');
    expect(await t.queue.readOutput(id, { run: 1 })).toMatchObject({ run: 1, text: 'first run\n' });
    expect(await codeOf(t.queue.readOutput(id, { run: 3 }))).toBe('NOT_FOUND');
  });

  it('goes with its task when retention purges it', async () => {
    const { id, lease } = await claimed();
    await t.queue.appendOutput(id, { leaseToken: lease, offset: 0, text: 'bye\n' });
    await t.queue.complete(id, { leaseToken: lease });
    t.clock.advance(10 * 86_400_000);
    expect(await t.queue.purge(1)).toBe(1);
    const left = await t.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM task_output');
    expect(Number(left?.n)).toBe(0);
  });
});
