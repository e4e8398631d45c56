// `athena serve` replicas, each in its own host's namespace of the simulated network, on one
// PostgreSQL schema; and the schema itself, made and dropped from another host.
import { join } from 'node:path';
import { BENCH_KEY, startBenchServer, type BenchServer } from '../server-process.js';
import { runTempDir, type SimulatedNetwork } from './network.js';
import type { PrivatePostgres } from './postgres.js';
import type { RemoteHost } from './remote-host.js';

export type NetReplica = { host: string; url: string; server: BenchServer };

export const KEY = BENCH_KEY;

/**
 * Starts one replica per host (together, as a deployment would: they race to migrate and to
 * lead). Each listens on all its namespace's addresses, so a process inside the namespace can
 * still reach it on 127.0.0.1 when its link is cut. `stop` stops them all.
 */
export async function startNetReplicas(
  net: SimulatedNetwork,
  hosts: string[],
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ replicas: NetReplica[]; stop(): Promise<void> }> {
  const dir = runTempDir('replicas');
  const started = await Promise.allSettled(
    hosts.map((host) =>
      startBenchServer(join(dir.path, 'unused.db'), { API_HOST: '0.0.0.0', DATABASE_URL: databaseUrl, PG_POOL_SIZE: '10', ...env }, { prefix: net.exec(host) }),
    ),
  );
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    dir.remove();
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const replicas = servers.map((server, i) => ({ host: hosts[i]!, server, url: `http://${net.address(hosts[i]!)}:${new URL(server.url).port}` }));
  return { replicas, stop };
}

/** A fresh schema on the private server, made through `via` (a host on the network); `drop` removes it. */
export async function freshSchema(pgServer: PrivatePostgres, via: RemoteHost, name: string): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `${name}_${Date.now().toString(36)}`;
  await via.sql(pgServer.url(), `CREATE SCHEMA ${schema}`);
  return { url: pgServer.url({ schema }), schema, drop: async () => void (await via.sql(pgServer.url(), `DROP SCHEMA ${schema} CASCADE`)) };
}
