// A network between hosts, simulated on this machine for the network benchmark and the fail-over
// test: each host is a network namespace with one interface, eth0 (10.231.0.x/24), on a shared
// segment, and every packet a host sends arrives after a fixed one-way delay. Two link layers:
//   netem: veth pairs into a bridge in a switch namespace, `tc qdisc … netem delay` on each eth0;
//   wire:  for kernels built without netem (sch_netem), a tun device per host and a user-space
//          router in between (wire.py) that delays every packet the same way.
// Needs root. Everything it creates is named ath<pid>-…; destroy() removes it, and so do exit and
// Ctrl-C; a later run also removes what a killed run left behind.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type LinkKind = 'netem' | 'wire';

export type SimulatedNetwork = {
  kind: LinkKind;
  /** The host's address on the segment. */
  address(host: string): string;
  /** The namespace's name (for `ip netns exec`). */
  namespace(host: string): string;
  /** A command prefix that runs a program inside the host's namespace. */
  exec(host: string): string[];
  /** One-way delay of every hop, in milliseconds (0: none). */
  setDelay(ms: number): Promise<void>;
  /** Silently drops everything to and from `host`, like a cable pulled at the switch. */
  cut(host: string): Promise<void>;
  heal(host: string): Promise<void>;
  destroy(): Promise<void>;
};

const SUBNET = '10.231.0';
const PREFIX = `ath${process.pid}`;

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

const ip = (...args: string[]) => run('ip', args);
const tryRun = (cmd: string, args: string[]) => {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
};

// ---- teardown that survives errors, exit and signals --------------------------------------------

/** Synchronous undo steps of every live network (and what runs in it), newest first. */
const teardowns = new Set<() => void>();
let hooksInstalled = false;

/** Registers a synchronous undo step to run at exit or on a signal; returns its remover. */
export function onTeardown(step: () => void): () => void {
  if (!hooksInstalled) {
    hooksInstalled = true;
    process.once('exit', runTeardowns);
    // `on`, not `once`: Ctrl-C often comes twice (the terminal's, and tsx relaying it), and with no
    // listener left the second would kill the process halfway through the teardown.
    for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
      process.on(signal, () => {
        runTeardowns();
        process.exit(128 + number);
      });
    }
  }
  teardowns.add(step);
  return () => teardowns.delete(step);
}

function runTeardowns(): void {
  for (const step of [...teardowns].reverse()) {
    teardowns.delete(step);
    try {
      step();
    } catch {}
  }
}

/** Kills whatever runs in a namespace and deletes it. */
function removeNamespace(ns: string): void {
  try {
    for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  } catch {}
  tryRun('ip', ['netns', 'del', ns]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const TEMP_PREFIX = 'athena-netns-';

/**
 * A temporary directory named after this run (`athena-netns-<what>-<pid>-…`): removed by `remove`,
 * at exit or on a signal, or by a later run if this one was killed.
 */
export function runTempDir(what: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${what}-${process.pid}-`));
  const removeNow = () => rmSync(path, { recursive: true, force: true });
  const forget = onTeardown(removeNow);
  return {
    path,
    remove() {
      removeNow();
      forget();
    },
  };
}

/** Namespaces and temporary directories an earlier run left behind when it was killed (its pid is gone). */
function sweepLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = name.startsWith(TEMP_PREFIX) ? name.match(/^athena-netns-[a-z]+-(\d+)-/)?.[1] : undefined;
    if (owner && Number(owner) !== process.pid && !alive(Number(owner))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const names = ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
  for (const ns of names) {
    const owner = ns.match(/^ath(\d+)-/)?.[1];
    if (owner && Number(owner) !== process.pid && !alive(Number(owner))) removeNamespace(ns);
  }
}

// ---- what the machine can do ---------------------------------------------------------------------

let netemProbe: boolean | null = null;

/** Whether the kernel has netem (probed once, in a namespace of its own). */
function hasNetem(): boolean {
  if (netemProbe !== null) return netemProbe;
  const ns = `${PREFIX}-probe`;
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    netemProbe = tryRun('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms']);
  } finally {
    removeNamespace(ns);
  }
  return netemProbe;
}

/** Why this machine cannot build the network, or null when it can. */
export function networkProblem(link: 'auto' | LinkKind = 'auto'): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces, veth pairs and tc need root: run it as root';
  if (!tryRun('ip', ['netns', 'list'])) return 'the `ip` command (iproute2) with netns support is missing';
  if (link === 'netem' || (link === 'auto' && tryRun('tc', ['-V']) && hasNetem())) {
    return hasNetem() ? null : 'this kernel has no netem (CONFIG_NET_SCH_NETEM): use --link=wire';
  }
  if (!existsSync('/dev/net/tun')) return 'this kernel has neither netem nor /dev/net/tun for the user-space wire';
  if (!tryRun('python3', ['-c', 'import fcntl'])) return 'this kernel has no netem, and the user-space wire needs python3';
  return null;
}

// ---- the network -----------------------------------------------------------------------------

export async function createNetwork(options: { hosts: string[]; link?: 'auto' | LinkKind }): Promise<SimulatedNetwork> {
  const problem = networkProblem(options.link);
  if (problem) throw new Error(problem);
  sweepLeftovers();
  const kind: LinkKind = options.link === 'wire' || (options.link !== 'netem' && !hasNetem()) ? 'wire' : 'netem';
  const namespaces = new Map(options.hosts.map((host) => [host, `${PREFIX}-${host}`]));
  const addresses = new Map(options.hosts.map((host, i) => [host, `${SUBNET}.${i + 1}`]));
  const switchNs = `${PREFIX}-switch`;
  let router: ChildProcess | null = null;
  let routerAnswers: AsyncIterator<string> | null = null;

  const undo = () => {
    router?.kill('SIGKILL');
    for (const ns of namespaces.values()) removeNamespace(ns);
    if (kind === 'netem') removeNamespace(switchNs);
  };
  const forget = onTeardown(undo);
  const ns = (host: string) => {
    const name = namespaces.get(host);
    if (!name) throw new Error(`no host ${host} on this network`);
    return name;
  };

  try {
    for (const name of namespaces.values()) {
      ip('netns', 'add', name);
      ip('-n', name, 'link', 'set', 'lo', 'up');
    }
    if (kind === 'netem') {
      ip('netns', 'add', switchNs);
      ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', switchNs, 'link', 'set', 'br0', 'up');
      options.hosts.forEach((host, i) => {
        ip('link', 'add', 'eth0', 'netns', ns(host), 'type', 'veth', 'peer', 'name', `port${i}`, 'netns', switchNs);
        ip('-n', switchNs, 'link', 'set', `port${i}`, 'master', 'br0', 'up');
      });
    } else {
      const tunName = (i: number) => `${PREFIX}t${i}`;
      router = spawn('python3', [join(import.meta.dirname, 'wire.py'), ...options.hosts.map((host, i) => `${tunName(i)}=${addresses.get(host)}`)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      routerAnswers = createInterface({ input: router.stdout! })[Symbol.asyncIterator]();
      const ready = await routerAnswers.next();
      if (ready.value !== 'ready') throw new Error(`the user-space wire did not start: ${ready.value}`);
      options.hosts.forEach((host, i) => {
        ip('link', 'set', tunName(i), 'netns', ns(host));
        ip('-n', ns(host), 'link', 'set', tunName(i), 'name', 'eth0');
      });
    }
    for (const host of options.hosts) {
      ip('-n', ns(host), 'addr', 'add', `${addresses.get(host)}/24`, 'dev', 'eth0');
      // A long queue: a burst waits in it rather than being dropped.
      ip('-n', ns(host), 'link', 'set', 'eth0', 'txqueuelen', '10000', 'up');
    }
  } catch (err) {
    undo();
    forget();
    throw err;
  }

  const tellRouter = async (line: string) => {
    router!.stdin!.write(`${line}\n`);
    const answer = await routerAnswers!.next();
    if (answer.value !== 'ok') throw new Error(`the user-space wire answered ${answer.value} to ${line}`);
  };
  let delayMs = 0;
  const setNetem = (host: string, ms: number) => {
    if (ms > 0) run('tc', ['-n', ns(host), 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${ms}ms`, 'limit', '100000']);
    else tryRun('tc', ['-n', ns(host), 'qdisc', 'del', 'dev', 'eth0', 'root']);
  };

  return {
    kind,
    address: (host) => {
      ns(host);
      return addresses.get(host)!;
    },
    namespace: ns,
    exec: (host) => ['ip', 'netns', 'exec', ns(host)],
    async setDelay(ms) {
      delayMs = ms;
      if (kind === 'wire') await tellRouter(`delay ${ms}`);
      else for (const host of options.hosts) setNetem(host, ms);
    },
    async cut(host) {
      if (kind === 'wire') await tellRouter(`cut ${addresses.get(host)}`);
      else ip('-n', switchNs, 'link', 'set', `port${options.hosts.indexOf(host)}`, 'down');
    },
    async heal(host) {
      if (kind === 'wire') await tellRouter(`heal ${addresses.get(host)}`);
      else {
        ip('-n', switchNs, 'link', 'set', `port${options.hosts.indexOf(host)}`, 'up');
        setNetem(host, delayMs);
      }
    },
    async destroy() {
      router?.stdin?.end();
      undo();
      forget();
    },
  };
}
