// Leader fail-over across hosts: three replicas on one schema, the leader's link is cut (not the
// process killed), and we watch the advisory lock move, the old leader stop its loops, the new
// leader's sweeper take over, and one leader again once the link is back. Shared by the test
// (test/cluster/netns-failover.test.ts) and the network benchmark.
import type { SimulatedNetwork } from './network.js';
import type { PrivatePostgres } from './postgres.js';
import { startRemoteHost, type RemoteHost } from './remote-host.js';
import { freshSchema, KEY, startNetReplicas, type NetReplica } from './replicas.js';

export type FailoverResult = {
  leaderBefore: string;
  /** Host of the replica that leads after the cut (null: none within the time allowed). */
  leaderAfter: string | null;
  /** From the cut until another replica reports it leads. */
  takeoverMs: number | null;
  /** From the cut until the old leader logs that it stepped down (its leader work is aborted then). */
  stepDownMs: number | null;
  /** From the cut until the old leader logs that its leader work has stopped (a statement in flight on the dead link may hold it up). */
  workStoppedMs: number | null;
  /** How long the link stayed cut: a step-down later than this came only once the link was back. */
  cutForMs: number;
  /** From the cut until the task held by a vanished agent is pending again (the new leader's sweeper). */
  ghostRequeuedMs: number | null;
  /** What each replica reports once the link is back. */
  leadershipAfterHeal: Record<string, string | null>;
  oldLeaderLog: string;
};

/**
 * The PostgreSQL settings a cut-off client needs: without keepalives the server keeps a silent
 * client's session (and its advisory lock) until the kernel gives up on it, hours later.
 */
export const KEEPALIVE_SETTINGS = { tcp_keepalives_idle: '2', tcp_keepalives_interval: '1', tcp_keepalives_count: '3' };

/** The link stays cut at least this long (the step-down may come later than the takeover). */
const CUT_AT_LEAST_MS = 25_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function leadership(load: RemoteHost, replica: NetReplica): Promise<string | null> {
  try {
    const res = await load.http(KEY, replica.url, 'GET', '/api/health', undefined, 1500);
    return res.json?.checks?.leadership?.detail ?? null;
  } catch {
    return null; // unreachable (cut) or too slow
  }
}

/** Polls `what` (at least once) until it returns a value, or null after `timeoutMs`. */
async function until<T>(what: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value) return value;
    if (Date.now() >= deadline) return null;
    await sleep(100);
  }
}

export async function runFailover(
  net: SimulatedNetwork,
  pgServer: PrivatePostgres,
  options: { loadHost: string; replicaHosts: [string, string, string]; timeoutMs?: number; logLevel?: string },
): Promise<FailoverResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const load = await startRemoteHost(net, options.loadHost);
  const schema = await freshSchema(pgServer, load, 'failover');
  const cluster = await startNetReplicas(net, options.replicaHosts, schema.url, {
    LEASE_SECONDS: '5',
    SWEEP_INTERVAL_SECONDS: '0.5',
    RETRY_BASE_SECONDS: '0',
    WIP_LIMIT: '0',
    PG_POOL_SIZE: '4',
    LOG_LEVEL: options.logLevel ?? 'warn',
  });
  let cutHost: string | null = null;
  try {
    const { replicas } = cluster;
    const leader = await until(async () => {
      const states = await Promise.all(replicas.map((r) => leadership(load, r)));
      return states.filter((s) => s === 'leader').length === 1 && states.filter((s) => s === 'follower').length === 2 && replicas[states.indexOf('leader')]!;
    }, 30_000);
    if (!leader) throw new Error('no single leader among the three replicas within 30 s');
    const followers = replicas.filter((r) => r !== leader);

    // A task claimed by an agent that then vanishes: only a live leader's sweeper hands it back.
    const created = await load.http(KEY, followers[0]!.url, 'POST', '/api/tasks', { description: 'held by an agent that vanishes' });
    const ghost = await load.http(KEY, followers[0]!.url, 'POST', '/api/tasks/claim-next', { instance_id: 'ghost', lease_seconds: 5 });
    if (ghost.json?.task?.id !== created.json?.task_id) throw new Error(`the ghost did not get its task: ${JSON.stringify(ghost.json)}`);

    await net.cut(leader.host);
    cutHost = leader.host;
    const cutAt = Date.now();
    const since = () => Math.max(1, Date.now() - cutAt);
    const steppedDown = async () => /stepped down as leader/.test(leader.server.output()) && since();
    const workStopped = async () => /leader work stopped after stepping down/.test(leader.server.output()) && since();
    const [takeover, ghostRequeuedMs] = await Promise.all([
      until(async () => {
        for (const f of followers) if ((await leadership(load, f)) === 'leader') return { host: f.host, ms: since() };
        return null;
      }, timeoutMs),
      until(async () => {
        const res = await load.http(KEY, followers[0]!.url, 'GET', `/api/tasks/${ghost.json.task.id}`).catch(() => null);
        return res?.json?.task?.status === 'pending' && since();
      }, timeoutMs),
    ]);
    // The old leader steps down when its lock ping fails; its loops stop once what they have in
    // flight ends, which a statement hanging on the dead link holds up: the link stays cut a while
    // longer to see whether they stop while it is.
    let stepDownMs = await until(steppedDown, Math.max(0, CUT_AT_LEAST_MS - since()));
    let workStoppedMs = await until(workStopped, Math.max(0, CUT_AT_LEAST_MS - since()));
    const cutForMs = since();
    await net.heal(leader.host);
    cutHost = null;
    // Back on the network, a hung statement fails (the server ended that session) and the loops stop.
    stepDownMs ??= await until(steppedDown, timeoutMs);
    workStoppedMs ??= await until(workStopped, timeoutMs);
    let afterHeal: Array<string | null> = [];
    await until(async () => {
      afterHeal = await Promise.all(replicas.map((r) => leadership(load, r)));
      return afterHeal.every((s) => s !== null) && afterHeal.filter((s) => s === 'leader').length === 1;
    }, 30_000);
    return {
      leaderBefore: leader.host,
      leaderAfter: takeover?.host ?? null,
      takeoverMs: takeover?.ms ?? null,
      stepDownMs,
      workStoppedMs,
      cutForMs,
      ghostRequeuedMs,
      leadershipAfterHeal: Object.fromEntries(replicas.map((r, i) => [r.host, afterHeal[i] ?? null])),
      oldLeaderLog: leader.server.output(),
    };
  } finally {
    if (cutHost) await net.heal(cutHost);
    await cluster.stop();
    await schema.drop().catch(() => {});
    await load.stop();
  }
}
