// A private PostgreSQL for the simulated network: initdb into a temporary directory as the
// postgres user, started inside a host's namespace, listening on that host's address only.
// The machine's own PostgreSQL (127.0.0.1) is not reachable from the namespaces, and not touched.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { onTeardown, runTempDir, type SimulatedNetwork } from './network.js';

export type PrivatePostgres = {
  version: string;
  host: string;
  port: number;
  /** A connection URL (user postgres, trust), optionally with a search_path. */
  url(options?: { schema?: string }): string;
  stop(): Promise<void>;
};

const PORT = 5432;

/** The newest server binaries installed (Debian's /usr/lib/postgresql/<major>/bin). */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], 'bin') : null;
}

/** Why a private server cannot be started here, or null. */
export function postgresProblem(): string | null {
  if (!postgresBinaries()) return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (initdb, pg_ctl)';
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return 'no postgres user to run a private PostgreSQL as';
  }
  return null;
}

/** Runs a server binary as the postgres user, after `prefix` (e.g. `ip netns exec <ns>`). */
function asPostgres(prefix: string[], bin: string, args: string[]): string {
  const [cmd, ...rest] = [...prefix, 'runuser', '-u', 'postgres', '--', bin, ...args];
  return execFileSync(cmd!, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts a server in `host`'s namespace. `settings` go to postgresql.conf (e.g. keepalives so a
 * cut-off client's session, and its advisory locks, end within seconds).
 */
export async function startPrivatePostgres(net: SimulatedNetwork, host: string, settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  if (!bin) throw new Error(postgresProblem() ?? 'no PostgreSQL');
  const temp = runTempDir('pg');
  const dir = temp.path;
  const data = join(dir, 'data');
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  const address = net.address(host);
  let started = false;
  const stopNow = () => {
    if (started) {
      try {
        asPostgres([], join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {}
      started = false;
    }
  };
  // Registered after the directory, so at teardown the server stops before the directory goes.
  const forget = onTeardown(stopNow);
  try {
    asPostgres([], join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const conf = {
      listen_addresses: `'${address}'`,
      port: String(PORT),
      unix_socket_directories: `'${dir}'`,
      ...settings,
    };
    appendFileSync(join(data, 'postgresql.conf'), `\n${Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
    appendFileSync(join(data, 'pg_hba.conf'), `\nhost all all ${address.replace(/\.\d+$/, '.0')}/24 trust\n`);
    asPostgres(net.exec(host), join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    started = true;
  } catch (err) {
    stopNow();
    forget();
    temp.remove();
    throw err;
  }
  const version = asPostgres([], join(bin, 'postgres'), ['--version']).trim();
  return {
    version,
    host: address,
    port: PORT,
    url: (options = {}) => {
      const url = new URL(`postgres://postgres@${address}:${PORT}/postgres`);
      if (options.schema) url.searchParams.set('options', `-c search_path=${options.schema}`);
      return url.toString();
    },
    async stop() {
      stopNow();
      forget();
      temp.remove();
    },
  };
}
