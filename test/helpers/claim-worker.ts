// A separate process that claims and completes tasks on a shared SQLite file until none are left, or
// until it has claimed `max` of them; prints the ids it claimed as JSON. Used by the concurrency test.
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { SqlStore } from '../../src/store/sql-store.js';

const [dbPath, name, concurrencyArg, startAtArg, maxArg] = process.argv.slice(2);
const max = Number(maxArg ?? Number.POSITIVE_INFINITY);
const db = new SqliteDb(dbPath!, { busyTimeoutMs: 30_000 });
const queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { leaseMs: 600_000, maxAttempts: 3, retryBaseMs: 1000, wipLimit: 0 } });
const claimed: number[] = [];
/** Claims started: a claimer starts one only while fewer than `max` are, so the process never takes more. */
let started = 0;

async function claimer(index: number): Promise<void> {
  while (started < max) {
    started++;
    const task = await queue.claimNext({ instanceId: `${name}-${index}`, instanceName: `${name} ${index}` });
    if (!task) return;
    claimed.push(task.id);
    await queue.complete(task.id, { leaseToken: task.leaseToken, notes: `${name}-${index}` });
  }
}

// All processes start claiming at the same moment, however long each took to boot.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAtArg ?? 0) - Date.now())));
await Promise.all(Array.from({ length: Number(concurrencyArg ?? 4) }, (_, i) => claimer(i)));
await db.close();
process.stdout.write(JSON.stringify(claimed));
