// The model-based concurrency test of the queue (test/helpers/queue-model.ts) at a larger scale than
// the one in `npm test`: more runs and longer sequences. ATHENA_MODEL_RUNS sets the SQLite runs
// (PostgreSQL gets a tenth: its round trips are slower); a failure prints the seed and path to replay
// with ATHENA_MODEL_SEED and ATHENA_MODEL_PATH.
import { describe, expect, it } from 'vitest';
import { checkQueueModel } from '../helpers/queue-model.js';
import { backends } from '../helpers/stores.js';

const SQLITE_RUNS = Number(process.env.ATHENA_MODEL_RUNS ?? 5_000);
const RUNS = { sqlite: SQLITE_RUNS, postgres: Math.round(SQLITE_RUNS / 10) };
const REPLAY = process.env.ATHENA_MODEL_SEED
  ? { seed: Number(process.env.ATHENA_MODEL_SEED), path: process.env.ATHENA_MODEL_PATH }
  : {};

describe.each(backends)('queue model at scale on $name', (backend) => {
  it('random concurrent steps from four agents keep every invariant', async () => {
    const started = Date.now();
    const figures = await checkQueueModel(backend, { numRuns: RUNS[backend.name], maxCommands: 60, ...REPLAY });
    console.log(`[queue model at scale ${backend.name}] ${JSON.stringify(figures)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(figures.runs).toBeGreaterThan(0);
  }, 1_800_000);
});
