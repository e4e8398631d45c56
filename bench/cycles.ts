// The HTTP lease cycle every benchmark measures: agents loop claim → complete against one or more
// servers until a deadline, with claim latencies, lost claim races and double claims counted.
import { percentile, type createClient } from './http-client.js';

export type HttpClient = ReturnType<typeof createClient>;

/**
 * `claim-next`: POST claim-next → complete. `next-claim`: the original GET next → POST claim → complete.
 * `complete-claim`: complete with claim_next, which hands the agent its next task (claim-next only for
 * an agent's first task, and after an answer with none): one request per cycle.
 */
export type CycleMode = 'claim-next' | 'next-claim' | 'complete-claim';

/** How the results files name each cycle. */
export const CYCLE_NAMES: Record<CycleMode, string> = {
  'claim-next': 'claim-next → complete',
  'next-claim': 'next → claim → complete',
  'complete-claim': 'complete with claim_next',
};

export type CycleResult = {
  cycles: number;
  perSecond: number;
  seconds: number;
  claimP50: number;
  claimP99: number;
  /** Claims answered 409 because another agent took the task first (next-claim only). */
  conflicts: number;
  doubleClaims: number;
};

/**
 * `agents` agents, agent i talking to clients[i % clients.length], each looping for `seconds`
 * (or until the queue is empty). Claim latency runs from the first request of a cycle to the
 * lease in hand (so next-claim includes its peek, and complete-claim the completion of the task
 * before); a complete that is not 200 aborts the run.
 */
export async function driveCycles(clients: HttpClient[], options: { agents: number; seconds: number; mode: CycleMode }): Promise<CycleResult> {
  const { agents, seconds, mode } = options;
  const claimLatencies: number[] = [];
  const claimedBy = new Map<number, number>();
  let cycles = 0;
  let conflicts = 0;
  let doubleClaims = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: agents }, async (_, agent) => {
      const client = clients[agent % clients.length]!;
      const me = { instance_id: `bench-${agent}`, instance_name: `Bench ${agent}` };
      /** complete-claim: the task the last completion handed over, and when that request started. */
      let handed: { id: number; token: string; t0: number } | null = null;
      while (performance.now() < deadline) {
        let t0 = performance.now();
        let id: number;
        let token: string;
        if (handed) {
          ({ id, token, t0 } = handed);
        } else if (mode === 'claim-next' || mode === 'complete-claim') {
          const res = await client.call('POST', '/api/tasks/claim-next', me);
          if (!res.json?.task) break;
          id = res.json.task.id;
          token = res.json.task.lease_token;
        } else {
          const peek = await client.call('GET', '/api/tasks/next');
          if (!peek.json?.task) break;
          const res = await client.call('POST', `/api/tasks/${peek.json.task.id}/claim`, me);
          if (res.status === 409) {
            conflicts++;
            continue;
          }
          if (res.status !== 200) throw new Error(`claim failed: ${res.status} ${JSON.stringify(res.json)}`);
          id = res.json.task_id;
          token = res.json.lease_token;
        }
        claimLatencies.push(performance.now() - t0);
        if (claimedBy.has(id)) doubleClaims++;
        claimedBy.set(id, agent);
        const chained = mode === 'complete-claim';
        const t1 = performance.now();
        const done = await client.call('POST', `/api/tasks/${id}/complete`, {
          lease_token: token, notes: 'bench', ...(chained && { instance_id: me.instance_id, claim_next: { instance_name: me.instance_name } }),
        });
        if (done.status !== 200) throw new Error(`complete failed: ${done.status} ${JSON.stringify(done.json)}`);
        cycles++;
        const next = chained ? done.json.next_task : null;
        handed = next ? { id: next.id, token: next.lease_token, t0: t1 } : null;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  claimLatencies.sort((a, b) => a - b);
  return {
    cycles,
    perSecond: cycles / elapsed,
    seconds: elapsed,
    claimP50: percentile(claimLatencies, 50),
    claimP99: percentile(claimLatencies, 99),
    conflicts,
    doubleClaims,
  };
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `1.23 (1.01–1.40)`: the median of per-round ratios and their range (one round: the ratio). */
export function ratioText(ratios: number[]): string {
  if (ratios.length === 0) return '—';
  if (ratios.length === 1) return fmt(ratios[0]!, 2);
  return `${fmt(median(ratios), 2)} (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})`;
}
