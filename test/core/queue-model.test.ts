// Model-based concurrency test of the queue on both backends (see test/helpers/queue-model.ts); the
// bigger run is test/reliability/queue-model.test.ts.
import { describe, expect, it } from 'vitest';
import { checkQueueModel } from '../helpers/queue-model.js';
import { backends } from '../helpers/stores.js';

/**
 * Cases per backend in the fast lane, sized to keep `npm test` quick (a PostgreSQL case costs about
 * ten SQLite ones); the slow lane's test/reliability/queue-model.test.ts runs the same model with
 * 5,000 and 500 cases of longer sequences. MODEL_RUNS_SQLITE / MODEL_RUNS_POSTGRES run more here
 * (PostgreSQL ran 150 before the fast lane was trimmed).
 */
const RUNS = { sqlite: Number(process.env.MODEL_RUNS_SQLITE ?? 1_000), postgres: Number(process.env.MODEL_RUNS_POSTGRES ?? 50) };
const MAX_COMMANDS = 25;

/**
 * Failures the model found, each with one invariant broken on purpose (docs/RELIABILITY.md), replayed
 * on every run: the generated case of that seed's failing run (before shrinking; the shrunk steps are
 * in `found`). Each failed again with its breakage back in. A seed replays the same steps only while
 * the model's generators stay as they are; on PostgreSQL the database's own timing also takes part,
 * so a replay there is a likely repeat, not a certain one.
 */
const REGRESSIONS: Array<{ backend: 'sqlite' | 'postgres'; broke: string; found: string; seed: number; run: number; maxCommands?: number }> = [
  { backend: 'postgres', broke: 'no per-instance WIP lock', found: 'step[claimNext(agent 0) | claimNext(agent 0)]: host-x held 2 tasks (WIP limit 1)', seed: -1510824879, run: 85 },
  { backend: 'sqlite', broke: 'no cycle check in the store', found: 'step[addDeps(#1 after #2) | addDeps(#2 after #1)]: cycle #1 → #2 → #1', seed: -711228725, run: 16 },
  { backend: 'postgres', broke: 'no cycle check in the store', found: 'step[addDeps(#2 after #1) | addDeps(#1 after #2)]: cycle #1 → #2 → #1', seed: -643219072, run: 2 },
  { backend: 'sqlite', broke: 'release keeps the attempt', found: "step[release(#1, agent 0's lease) | create]: attempts 1 where the log counts 0", seed: -386008012, run: 3 },
  { backend: 'postgres', broke: 'release keeps the attempt', found: 'step[release(#1, instance host-x)]: attempts 1 where the log counts 0', seed: 212919110, run: 6 },
  { backend: 'sqlite', broke: 'no lease-token fence in transitions', found: "step[complete(#1, agent 1's lease) | claimNext × 2 | create]: a stale lease accepted", seed: -627591016, run: 8 },
  { backend: 'postgres', broke: 'no lease-token fence in transitions', found: "step[complete(#1, agent 2's lease)]: a stale lease accepted", seed: -847534683, run: 12 },
  { backend: 'sqlite', broke: 'no status guard on addDependencies', found: 'step[addDeps(#2 after #1) | addDeps(#1 after #2)]: dependencies added to a task in progress', seed: -2087413660, run: 5 },
  { backend: 'postgres', broke: 'no status guard on addDependencies', found: 'step[addDeps(#1 after #2) | cancel(#1)]: dependencies added to a cancelled task', seed: 464918012, run: 1 },
  { backend: 'sqlite', broke: 'claim-next counts no WIP', found: 'step[create | claimNext(agent 0) | claimNext(agent 1) | create]: host-x held 2 tasks (WIP limit 1)', seed: -271782717, run: 25 },
  { backend: 'postgres', broke: 'claim-next counts no WIP', found: 'step[claimNext(agent 0) | claimNext(agent 1)]: host-x held 2 tasks (WIP limit 1)', seed: -517397251, run: 7 },
  {
    backend: 'sqlite', broke: 'requeue-or-fail decides from a stale read', maxCommands: 60, // found by the reliability run (5,000 runs)
    found: 'step[fail(#1, instance host-z, retry) | claimNext(agent 3)]: the fail read attempts 0, the claim made it 1 of 1, the fail requeued',
    seed: -1142868118, run: 4873,
  },
  { backend: 'sqlite', broke: 'fail requeues with no attempt left', found: "step[fail(#1, agent 3's lease, retry)]: requeued with 1 of 1 attempts used", seed: 543865877, run: 8 },
  { backend: 'postgres', broke: 'fail requeues with no attempt left', found: 'step[sweep]: requeued with 1 of 1 attempts used', seed: 2133861664, run: 37 },
];

describe.each(backends)('queue model on $name', (backend) => {
  it('random concurrent steps from four agents keep every invariant', async () => {
    const started = Date.now();
    const figures = await checkQueueModel(backend, { numRuns: RUNS[backend.name], maxCommands: MAX_COMMANDS });
    console.log(`[queue model ${backend.name}] ${JSON.stringify(figures)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(figures.runs).toBe(RUNS[backend.name]);
  }, 120_000);

  for (const regression of REGRESSIONS.filter((r) => r.backend === backend.name)) {
    it(`replays a failure found with "${regression.broke}": ${regression.found}`, async () => {
      const figures = await checkQueueModel(backend, { numRuns: 1, maxCommands: regression.maxCommands ?? MAX_COMMANDS, seed: regression.seed, path: String(regression.run) });
      expect(figures.runs).toBe(1);
    });
  }
});
