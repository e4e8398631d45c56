// Claims by agents whose labels or projects cover none, or only a few at the back, of many pending
// tasks, against an agent whose labels cover them, in-process on one store (`npm run bench -- --only=labels [--pg=URL]`).
// Before migrations pending_labels and pending_projects such a claim walked every pending task before
// it; it now reads each distinct label list once, and walks only the list it covers when it covers
// one; an agent's projects are read each from its part of an index.
// Writes its section of bench/RESULTS.md (RESULTS-postgres.md with --pg).
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { openAthenaCore } from './athena-core.js';
import { fmt, median } from './cycles.js';
import { percentile } from './http-client.js';
import { createBenchSchema } from './pg-schema.js';
import { parseLimitScope, parsePauseScope } from '../src/core/queue-controls.js';
import type { LabelScope } from '../src/core/ports.js';

export type LabelsOptions = { tasks: number; claims: number; waiting: number; databaseUrl?: string };

const AGENTS: Array<{ name: string; labels: LabelScope; projects?: string[]; covers: boolean }> = [
  { name: 'labels `["gpu"]`: covers the `gpu` tasks (the reference)', labels: ['gpu'], covers: true },
  { name: 'labels `"*"`: takes any task', labels: '*', covers: true },
  { name: 'labels `["docs"]`: covers only the `docs` tasks, queued behind all the others', labels: ['docs'], covers: true },
  { name: 'labels `["ios","web"]`: covers only the `ios` and the `web` tasks (two lists), queued behind all the others', labels: ['ios', 'web'], covers: true },
  { name: 'labels `["linux"]`: covers none', labels: ['linux'], covers: false },
  { name: 'labels `["linux","python","rust"]`: covers none', labels: ['linux', 'python', 'rust'], covers: false },
  { name: 'no labels: only unlabelled tasks, and none is pending', labels: [], covers: false },
  { name: 'project `web`: none of its tasks pending', labels: '*', projects: ['web'], covers: false },
  { name: 'project `site`: only its tasks, queued behind all the others', labels: '*', projects: ['site'], covers: true },
  { name: 'projects `["app","site"]`: only their tasks (those of `app`, `site`\'s taken above), queued behind all the others', labels: '*', projects: ['app', 'site'], covers: true },
];

export async function labelsBench(dir: string, o: LabelsOptions, log: (line: string) => void): Promise<void> {
  const schema = o.databaseUrl ? await createBenchSchema(o.databaseUrl, 'athena_bench_labels') : undefined;
  const core = await openAthenaCore(schema ? { databaseUrl: schema.url } : { sqlitePath: join(dir, 'labels.db') }, { WIP_LIMIT: '0' });
  try {
    const seeded = performance.now();
    await core.seed(o.tasks, ['gpu']);
    // Nine other label lists, a few tasks each: the lists a claim reads before it walks.
    for (const label of ['build', 'ci', 'db', 'deploy', 'ios', 'rust', 'ui', 'web', 'windows']) {
      for (let i = 0; i < 3; i++) await core.queue.create({ description: `other ${label}`, labels: [label, 'gpu'] });
    }
    // Low priority, so behind every other pending task in claiming order.
    for (const label of ['docs', 'web', 'ios']) {
      for (let i = 0; i < o.claims; i++) await core.queue.create({ description: `${label} ${i}`, labels: [label], priority: 'low' });
    }
    for (const project of ['site', 'app']) {
      for (let i = 0; i < o.claims; i++) await core.queue.create({ description: `${project} ${i}`, labels: ['site'], project, priority: 'low' });
    }
    log(`- Date: ${new Date().toISOString()}`);
    log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`);
    log(`- Store: ${schema ? 'PostgreSQL on the same machine (a schema of its own)' : 'SQLite (a fresh file)'}, in-process queue with the server's defaults; ${fmt(o.tasks)} pending tasks labelled \`gpu\` (seeded in ${fmt((performance.now() - seeded) / 1000, 1)} s), 27 more in 9 other label lists, ${fmt(o.claims)} low-priority tasks each labelled \`docs\`, \`web\` and \`ios\`, and as many of project \`site\` and of project \`app\` (labelled \`site\`); each agent claims ${fmt(o.claims)} times in sequence, with an instance id of its own each time. \`npm run bench -- --only=labels${schema ? ' --pg=<url>' : ''}\`.`);
    log('');
    log('| agent | claims answered | claim p50 | claim p99 | p50 vs the reference |');
    log('|---|---|---|---|---|');
    let reference = 0;
    const claims = async (agent: (typeof AGENTS)[number]): Promise<void> => {
      const times: number[] = [];
      let got = 0;
      for (let i = 0; i < o.claims; i++) {
        const started = performance.now();
        const task = await core.queue.claimNext({ instanceId: `labels-bench-${i}`, labels: agent.labels, projects: agent.projects });
        times.push(performance.now() - started);
        if (task) got++;
      }
      if ((got > 0) !== agent.covers) throw new Error(`${agent.name}: ${got} of ${o.claims} claims got a task`);
      const p50 = median(times);
      if (reference === 0) reference = p50;
      log(`| ${agent.name} | ${got > 0 ? `${fmt(got)} tasks` : 'null, every time'} | ${fmt(p50, 2)} ms | ${fmt(percentile([...times].sort((a, b) => a - b), 99), 2)} ms | ${fmt(p50 / reference, 2)} |`);
    };
    for (const agent of AGENTS) await claims(agent);
    // Tasks waiting on an unfinished one, ahead of every ready task in claiming order: created as
    // users create them (the dependency is what a claim must not walk past one by one).
    const { task: parent } = await core.queue.create({ description: 'the task the waiting ones depend on', labels: ['gpu'], priority: 'low' });
    const waiting = performance.now();
    for (let i = 0; i < o.waiting; i++) await core.queue.create({ description: `waiting ${i}`, labels: ['gpu'], priority: 'high', dependsOn: [parent.id] });
    const created = `created in ${fmt((performance.now() - waiting) / 1000, 1)} s`;
    for (const agent of AGENTS.slice(0, 2)) await claims({ ...agent, name: `${agent.name}, behind ${fmt(o.waiting)} high-priority tasks waiting on an unfinished one (${created})` });
    // As many delayed tasks (due tomorrow) ahead of every ready task: what a claim must not walk past
    // one by one until their time comes.
    const delaying = performance.now();
    const tomorrow = Date.now() + 24 * 60 * 60 * 1000;
    for (let i = 0; i < o.waiting; i++) await core.queue.create({ description: `delayed ${i}`, labels: ['gpu'], priority: 'high', runAfter: tomorrow });
    const delayed = `created in ${fmt((performance.now() - delaying) / 1000, 1)} s`;
    for (const agent of AGENTS.slice(0, 2)) await claims({ ...agent, name: `${agent.name}, behind as many high-priority tasks due tomorrow (${delayed})` });
    // As many tasks of one project (labelled `gpu` and `held`), ready, ahead of every other ready task,
    // held back in turn by a pause of the project, a limit it has reached, and a pause of the label:
    // what a claim must not walk past one by one while they are held back.
    const holding = performance.now();
    for (let i = 0; i < o.waiting; i++) await core.queue.create({ description: `held ${i}`, labels: ['gpu', 'held'], project: 'held', priority: 'high' });
    const held = `created in ${fmt((performance.now() - holding) / 1000, 1)} s`;
    const behind = async (what: string): Promise<void> => {
      for (const agent of AGENTS.slice(0, 2)) await claims({ ...agent, name: `${agent.name}, behind ${fmt(o.waiting)} high-priority tasks of ${what} (${held})` });
    };
    await core.queue.pause(parsePauseScope('project:held'), 'bench', null);
    await behind('a paused project');
    await core.queue.resume(parsePauseScope('project:held'), 'bench');
    if (!(await core.queue.claimNext({ instanceId: 'labels-bench-held', labels: '*' }))) throw new Error('no task of project held to claim');
    await core.queue.setLimit(parseLimitScope('project:held'), 1, 'bench');
    await behind('a project at its limit (1 held)');
    await core.queue.removeLimit(parseLimitScope('project:held'), 'bench');
    await core.queue.pause(parsePauseScope('label:held'), 'bench', null);
    await behind('a paused label');
    // The original protocol's peek (GET /api/tasks/next), 16 agents in turn, behind both kinds.
    const peeks: number[] = [];
    for (let i = 0; i < o.claims; i++) {
      const started = performance.now();
      const task = await core.queue.offerNext(`labels-bench-peeker-${i % 16}`);
      peeks.push(performance.now() - started);
      if (!task) throw new Error('a peek was shown nothing');
    }
    const p50 = median(peeks);
    log(`| peeks (the original protocol's \`GET /api/tasks/next\`), 16 agents in turn, behind ${fmt(o.waiting)} high-priority tasks due tomorrow and ${fmt(o.waiting)} of a paused label | ${fmt(o.claims)} tasks shown | ${fmt(p50, 2)} ms | ${fmt(percentile([...peeks].sort((a, b) => a - b), 99), 2)} ms | ${fmt(p50 / reference, 2)} |`);
  } finally {
    await core.close();
    await schema?.drop();
  }
}
