// Checks the deployment files without a Docker engine: Dockerfile rules, compose validity
// (Debian's docker-compose), the Ansible playbook (syntax + a real run with a fake docker CLI).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string): string => readFileSync(join(repo, rel), 'utf8');

const APT_HINT = 'apt-get install -y --no-install-recommends docker-compose ansible rsync';
function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
const hasCompose = hasCommand('docker-compose');
const hasAnsible = hasCommand('ansible-playbook');
const hasRsync = hasCommand('rsync');
const hasHadolint = hasCommand('hadolint');
// Debian's python3 has PyYAML whenever docker-compose or ansible is installed; used to read YAML.
const hasPyYaml = spawnSync('/usr/bin/python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0;
const isRoot = process.getuid?.() === 0;

function skipNote(missing: Array<[boolean, string]>): string {
  const names = missing.filter(([ok]) => !ok).map(([, name]) => name);
  return names.length === 0 ? '' : ` [skipped: ${names.join(', ')} not available; install with: ${APT_HINT}]`;
}
for (const [ok, tool] of [[hasCompose, 'docker-compose'], [hasAnsible, 'ansible-playbook (package ansible)'], [hasRsync, 'rsync']] as const) {
  if (!ok) console.warn(`deploy tests: ${tool} is not installed, its checks are skipped. Install: ${APT_HINT}`);
}
if (!hasHadolint) {
  console.warn('deploy tests: hadolint is not installed (not packaged in Debian); the static Dockerfile rules below still run.');
}

type Result = { code: number | null; stdout: string; stderr: string };
/** Runs a command without blocking the event loop (the fake /health server below must keep answering). */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? repo, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

function yamlToJson(text: string): unknown {
  const result = spawnSync('/usr/bin/python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout, default=str)'], {
    input: text,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`YAML parse failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

// The one health probe shared by the Dockerfile, the compose file and the Ansible template.
const HEALTH_PROBE = "fetch('http://127.0.0.1:'+(process.env.API_PORT||5051)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))";

// ------------------------------------------------------------------ Dockerfile

type Instruction = { keyword: string; args: string; line: number };
type Stage = { from: string; name: string | null; instructions: Instruction[] };

/** Parses a Dockerfile into instructions (continuations joined, comments dropped) and stages. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[]; all: Instruction[] } {
  const all: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (buffer === '' && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (buffer !== '' && line.trim().startsWith('#')) return; // comment inside a continuation
    if (buffer === '') start = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(buffer);
    if (match) all.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start });
    buffer = '';
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of all) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = ins.args.split('=', 2);
      args.set(name.trim(), value.trim());
    } else if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`unparsed FROM at line ${ins.line}: ${ins.args}`);
      const from = m[1].replace(/\$\{?(\w+)\}?/g, (_all, name: string) => args.get(name) ?? '');
      stages.push({ from, name: m[2] ?? null, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { args, stages, all };
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const { stages, all } = parseDockerfile(text);
  const runtime = stages[stages.length - 1];
  const inRuntime = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword);
  const execForm = (args: string): string[] => JSON.parse(args) as string[];

  it('is multi-stage: a build stage with the toolchain, a slim runtime stage copying from it', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => s.name === 'build');
    expect(build, 'a stage named "build"').toBeDefined();
    expect(runtime.name).not.toBe('build');
    const buildRuns = build!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(buildRuns).toMatch(new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`));
    expect(buildRuns).toMatch(/npm ci\b/);
    expect(buildRuns).toMatch(/npm run build/);
    expect(buildRuns).toMatch(/npm (prune|ci) --omit=dev/);
    const runtimeRuns = inRuntime('RUN').map((i) => i.args).join('\n');
    expect(runtimeRuns, 'no compiler in the runtime stage').not.toMatch(/\b(g\+\+|make|python3)\b/);
  });

  it('runs build and runtime on the same pinned, slim Node 22 base (native addon ABI and libc match)', () => {
    for (const stage of stages) {
      expect(stage.from, 'image has a tag').toMatch(/^[^:@\s]+[:@]/);
      expect(stage.from).not.toMatch(/:latest$/);
    }
    expect(runtime.from).toMatch(/^node:22[\w.-]*-slim(@sha256:[0-9a-f]{64})?$/);
    expect(new Set(stages.map((s) => s.from)).size, 'one base image for every stage').toBe(1);
  });

  it('copies the built app, production node_modules, migrations and web assets from the build stage', () => {
    const copies = inRuntime('COPY').map((i) => i.args);
    for (const path of ['/app/node_modules', '/app/dist', '/app/src/store/migrations', '/app/src/web/public', '/app/package.json']) {
      expect(copies.some((c) => c.startsWith('--from=build') && c.includes(` ${path} `)), `COPY --from=build ${path}`).toBe(true);
    }
    expect(inRuntime('WORKDIR').map((i) => i.args)).toContain('/app');
  });

  it('runs as a non-root user that owns /app/data, declared as a volume', () => {
    const users = inRuntime('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1];
    expect(user.args).not.toMatch(/^(root|0)(:|$)/);
    const cmdLine = inRuntime('CMD')[0]?.line ?? Infinity;
    const entryLine = inRuntime('ENTRYPOINT')[0]?.line ?? Infinity;
    expect(user.line).toBeLessThan(Math.min(cmdLine, entryLine));
    const volume = inRuntime('VOLUME');
    expect(volume.map((v) => v.args.replace(/[[\]"]/g, '').trim())).toContain('/app/data');
    const chown = inRuntime('RUN').find((r) => /chown\s+\S+\s+\/app\/data/.test(r.args));
    expect(chown, 'RUN chown … /app/data').toBeDefined();
    expect(chown!.args).toContain(`chown ${user.args.split(':')[0]}:`);
    expect(chown!.line, 'chown before VOLUME (later changes to a volume path are discarded)').toBeLessThan(volume[0].line);
  });

  it('has a HEALTHCHECK on /health that needs no curl', () => {
    const hc = inRuntime('HEALTHCHECK');
    expect(hc).toHaveLength(1);
    expect(hc[0].args).toContain('/health');
    expect(hc[0].args).toContain(HEALTH_PROBE);
    expect(hc[0].args).not.toMatch(/\b(curl|wget)\b/);
  });

  it('uses tini as PID 1, exec-form ENTRYPOINT/CMD, exposes 5051', () => {
    const entry = inRuntime('ENTRYPOINT');
    expect(entry).toHaveLength(1);
    expect(execForm(entry[0].args)[0]).toMatch(/(^|\/)tini$/);
    expect(execForm(entry[0].args)).toContain('--');
    const cmd = inRuntime('CMD');
    expect(cmd).toHaveLength(1);
    expect(execForm(cmd[0].args)).toEqual(['node', 'dist/athena.mjs', 'serve']);
    expect(inRuntime('RUN').some((r) => /apt-get install[^&]*\btini\b/.test(r.args))).toBe(true);
    expect(inRuntime('EXPOSE').map((i) => i.args)).toContain('5051');
  });

  it('follows hadolint-style rules for apt, ADD, sudo, cd and pipes', () => {
    for (const ins of all) {
      const where = `line ${ins.line}: ${ins.keyword} ${ins.args.slice(0, 60)}`;
      if (ins.keyword === 'ADD') expect(ins.args, `DL3020 use COPY; never ADD a URL (${where})`).not.toMatch(/https?:\/\//);
      expect(ins.keyword, 'DL4000 MAINTAINER is deprecated').not.toBe('MAINTAINER');
      if (ins.keyword !== 'RUN') continue;
      if (/apt-get install/.test(ins.args)) {
        expect(ins.args, `DL3015 --no-install-recommends (${where})`).toContain('--no-install-recommends');
        expect(ins.args, `DL3014 -y (${where})`).toMatch(/apt-get install\s+(-\S+\s+)*-y\b/);
        expect(ins.args, `DL3009 clean the apt lists in the same RUN (${where})`).toContain('rm -rf /var/lib/apt/lists/*');
        expect(ins.args, `DL3059-ish: update and install in one RUN (${where})`).toContain('apt-get update');
      }
      expect(ins.args, `DL3027 apt-get, not apt (${where})`).not.toMatch(/(^|[;&|]\s*)apt\s/);
      expect(ins.args, `DL3004 no sudo (${where})`).not.toMatch(/\bsudo\b/);
      expect(ins.args, `DL3003 use WORKDIR, not cd (${where})`).not.toMatch(/(^|&&|;)\s*cd\s/);
      if (/[^|]\|[^|]/.test(ins.args.replace(/'[^']*'|"[^"]*"/g, ''))) {
        expect(ins.args, `DL4006 set -o pipefail before a pipe (${where})`).toContain('pipefail');
      }
    }
  });

  it('keeps host node_modules, data, secrets and VCS out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'data', '.git', '.env', 'dist', 'coverage']) expect(ignored).toContain(entry);
    // What the build needs must stay in the context.
    for (const needed of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'src/store/migrations', 'src/web/public']) {
      expect(ignored, `.dockerignore must not exclude ${needed}`).not.toContain(needed);
      expect(ignored).not.toContain(`${needed}/`);
    }
  });

  it.skipIf(!hasHadolint)(`passes hadolint${hasHadolint ? '' : ' [skipped: hadolint not installed; it is not packaged in Debian: install its release binary, or run `docker run --rm -i hadolint/hadolint < Dockerfile`]'}`, async () => {
    const result = await run('hadolint', ['Dockerfile']);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

// --------------------------------------------------------------- .env.example

describe('.env.example', () => {
  const example = read('.env.example');
  const documented = new Set([...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));

  it('documents every variable, commented out at its default', () => {
    const expected: Record<string, string> = {
      API_HOST: '0.0.0.0', API_PORT: '5051', API_KEY: '', DB_PATH: './data/athena.db', DATABASE_URL: '', PG_POOL_SIZE: '10',
      LEASE_SECONDS: '1800', MAX_ATTEMPTS: '3', RETRY_BASE_SECONDS: '30', WIP_LIMIT: '1', LONG_POLL_MAX_SECONDS: '60',
      LOG_LEVEL: 'info', TZ: 'UTC', DISCORD_TOKEN: '', DISCORD_GUILD_ID: '', DISCORD_API_BASE: '',
      ALLOWED_CHANNELS: 'claude-tasks', NOTIFICATION_CHANNEL: 'claude-tasks', DISCORD_ADMIN_ROLE: '', DISCORD_THREADS: 'true',
      RETENTION_DAYS: '30', BACKUP_DIR: './data/backups', BACKUP_INTERVAL_HOURS: '24', BACKUP_KEEP: '7', SUMMARY_TIME: '09:00',
      METRICS_AUTH: 'true', ATHENA_API_URL: 'http://localhost:5051', ATHENA_API_KEY: '', CLAUDE_INSTANCE: '', CLAUDE_INSTANCE_NAME: '',
      REQUEST_TIMEOUT_SECONDS: '30', TRUST_PROXY: '', EVENT_STREAMS_PER_KEY: '20', EVENT_STREAMS_PER_ADDRESS: '50', EVENT_STREAMS_MAX: '500',
      EVENT_STREAM_BUFFER_BYTES: '1048576', EVENT_STREAM_STALL_SECONDS: '30', DISCORD_SUBMIT_ROLE: '', ATHENA_PUBLISH: '127.0.0.1:5051',
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(example, `${name}=${value}`).toMatch(new RegExp(`^# ${name}=${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    }
    // Nothing is set by default: every assignment is commented out.
    expect(example).not.toMatch(/^[A-Z][A-Z0-9_]*=/m);
  });

  it('documents every variable of the config schema (src/config.ts)', () => {
    const configPath = join(repo, 'src/config.ts');
    if (!existsSync(configPath)) return;
    const schemaVars = [...readFileSync(configPath, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]+)\s*:/gm)].map((m) => m[1]);
    const missing = schemaVars.filter((name) => !documented.has(name));
    expect(missing, 'add these to .env.example with a comment and the default').toEqual([]);
  });

  it('documents every variable the compose file interpolates', () => {
    const used = [...read('deploy/docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !documented.has(name))).toEqual([]);
  });
});

// ------------------------------------------------------------- docker-compose

type ComposeService = {
  container_name?: string;
  image?: string;
  restart?: string;
  profiles?: string[];
  ports?: Array<string | { published?: string | number; target?: number; host_ip?: string }>;
  volumes?: Array<string | { source?: string; target?: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test?: string[] | string };
  depends_on?: Record<string, { condition?: string }> | string[];
  cap_drop?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[] | string;
};
type ComposeConfig = { services: Record<string, ComposeService> };

/** No capabilities, no privilege gain, a read-only root with the data volume and a tmpfs for /tmp. */
function expectHardened(svc: ComposeService): void {
  expect(svc.cap_drop).toEqual(['ALL']);
  expect(svc.security_opt).toContain('no-new-privileges:true');
  expect(svc.read_only).toBe(true);
  expect([svc.tmpfs ?? []].flat().some((t) => t.startsWith('/tmp'))).toBe(true);
}

describe('deploy/docker-compose.yml', () => {
  let work = '';
  let composeFile = '';
  beforeAll(() => {
    // A copy beside a scratch .env (env_file needs one) and a Dockerfile stub for the build context.
    work = mkdtempSync(join(tmpdir(), 'athena-compose-'));
    mkdirSync(join(work, 'deploy'));
    composeFile = join(work, 'deploy/docker-compose.yml');
    cpSync(join(repo, 'deploy/docker-compose.yml'), composeFile);
    writeFileSync(join(work, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(work, 'deploy/.env'), 'POSTGRES_PASSWORD=0123abcd\nATHENA_PUBLISH=127.0.0.1:5999\nDISCORD_TOKEN=from-env-file\n');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const compose = (...args: string[]) => run('docker-compose', ['-f', composeFile, ...args], { cwd: work });
  const hostPorts = (svc: ComposeService) =>
    (svc.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.host_ip ? `${p.host_ip}:` : ''}${p.published}:${p.target}`).replace(/\/tcp$/, ''));

  it.skipIf(!hasCompose)(`is valid (default profile: SQLite)${skipNote([[hasCompose, 'docker-compose']])}`, async () => {
    const result = await compose('config', '-q');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.skipIf(!hasCompose)(`is valid with --profile postgres${skipNote([[hasCompose, 'docker-compose']])}`, async () => {
    const result = await compose('--profile', 'postgres', 'config', '-q');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.skipIf(!hasCompose || !hasPyYaml)(`runs athena (athena-bot) on 5051 with ./data, healthcheck and restart policy${skipNote([[hasCompose, 'docker-compose'], [hasPyYaml, 'python3-yaml']])}`, async () => {
    const result = await compose('config');
    expect(result.code).toBe(0);
    const config = yamlToJson(result.stdout) as ComposeConfig;
    const athena = config.services.athena;
    expect(athena.container_name).toBe('athena-bot');
    expect(athena.restart).toBe('unless-stopped');
    expect(athena.profiles ?? []).toEqual([]);
    expect(hostPorts(athena)).toEqual(['127.0.0.1:5999:5051']); // ATHENA_PUBLISH from deploy/.env
    expect(athena.volumes).toEqual([`${join(work, 'deploy/data')}:/app/data:rw`]);
    expect(athena.environment).toMatchObject({ API_HOST: '0.0.0.0', API_PORT: '5051', DB_PATH: '/app/data/athena.db' });
    expect(athena.healthcheck?.test).toEqual(['CMD', 'node', '-e', HEALTH_PROBE]);
    expectHardened(athena);
  });

  it.skipIf(!hasCompose || !hasPyYaml)(`publishes on loopback unless ATHENA_PUBLISH opens it${skipNote([[hasCompose, 'docker-compose'], [hasPyYaml, 'python3-yaml']])}`, async () => {
    writeFileSync(join(work, 'deploy/.env'), 'POSTGRES_PASSWORD=0123abcd\n');
    try {
      const result = await compose('config');
      expect(result.code).toBe(0);
      expect(hostPorts((yamlToJson(result.stdout) as ComposeConfig).services.athena)).toEqual(['127.0.0.1:5051:5051']);
    } finally {
      writeFileSync(join(work, 'deploy/.env'), 'POSTGRES_PASSWORD=0123abcd\nATHENA_PUBLISH=127.0.0.1:5999\nDISCORD_TOKEN=from-env-file\n');
    }
  });

  it.skipIf(!hasCompose || !hasPyYaml)(`adds PostgreSQL 16 and a scalable athena-pg under the postgres profile${skipNote([[hasCompose, 'docker-compose'], [hasPyYaml, 'python3-yaml']])}`, async () => {
    const result = await compose('--profile', 'postgres', 'config');
    expect(result.code).toBe(0);
    const { services } = yamlToJson(result.stdout) as ComposeConfig;
    expect(Object.keys(services).sort()).toEqual(['athena', 'athena-pg', 'athena-pg-bot', 'postgres']);
    const pg = services.postgres;
    expect(pg.image).toMatch(/^postgres:16\b/);
    expect(pg.profiles).toEqual(['postgres']);
    expect(pg.environment?.POSTGRES_PASSWORD).toBe('0123abcd');
    expect(JSON.stringify(pg.healthcheck?.test)).toContain('pg_isready');
    expect((pg.volumes ?? []).map(String).some((v) => v.endsWith(':/var/lib/postgresql/data:rw'))).toBe(true);
    const app = services['athena-pg'];
    expect(app.profiles).toEqual(['postgres']);
    expect(app.container_name, 'no container_name, so that --scale works').toBeUndefined();
    expect(app.environment?.DATABASE_URL).toBe('postgres://athena:0123abcd@postgres:5432/athena');
    expect(app.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    // A port range (one port per replica), never one fixed host port that a second replica could not bind.
    expect(hostPorts(app)).toEqual(['127.0.0.1:5061-5069:5051']);
    expect(app.healthcheck?.test).toEqual(['CMD', 'node', '-e', HEALTH_PROBE]);
    // Only one process may log in to Discord: the replicas get an empty token, athena-pg-bot keeps .env's.
    expect(app.environment?.DISCORD_TOKEN).toBe('');
    const bot = services['athena-pg-bot'];
    expect(bot.profiles).toEqual(['postgres']);
    expect(bot.environment?.DISCORD_TOKEN).toBe('from-env-file');
    expect(bot.environment?.DATABASE_URL).toBe(app.environment?.DATABASE_URL);
    expect(bot.ports ?? [], 'the bot replica publishes no port').toEqual([]);
    expect(bot.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(bot.volumes).toEqual(app.volumes);
    expectHardened(app);
    expectHardened(bot);
  });
});

// -------------------------------------------------------------------- Ansible

describe('deploy/ansible', () => {
  const ansibleDir = join(repo, 'deploy/ansible');

  it.skipIf(!hasAnsible)(`playbook passes ansible-playbook --syntax-check${skipNote([[hasAnsible, 'ansible-playbook']])}`, async () => {
    const result = await run('ansible-playbook', ['--syntax-check', '-i', 'inventory.example.ini', 'deploy-athena-bot.yml'], {
      cwd: ansibleDir,
      env: { ANSIBLE_NOCOLOR: '1' },
    });
    expect(result.stderr.replace(/^\[WARNING\]: .*$/gm, '').trim()).toBe('');
    expect(result.code).toBe(0);
  });

  it.skipIf(!hasPyYaml)(`keeps secrets in the vault, out of logs and in a 0600 env file${skipNote([[hasPyYaml, 'python3-yaml']])}`, () => {
    const vault = yamlToJson(read('deploy/ansible/group_vars/all/vault.yml.example')) as Record<string, unknown>;
    expect(Object.keys(vault).sort()).toEqual(['vault_api_key', 'vault_discord_token', 'vault_postgres_password']);
    const defaults = yamlToJson(read('deploy/ansible/roles/athena/defaults/main.yml')) as Record<string, unknown>;
    expect(defaults.athena_api_key).toContain('vault_api_key');
    expect(defaults.athena_discord_token).toContain('vault_discord_token');
    const tasks = yamlToJson(read('deploy/ansible/roles/athena/tasks/main.yml')) as Array<Record<string, unknown>>;
    const secretTemplates = tasks.filter((t) => {
      const template = t['ansible.builtin.template'] as { src?: string } | undefined;
      return template?.src?.includes('env');
    });
    expect(secretTemplates.length).toBeGreaterThanOrEqual(2);
    for (const task of secretTemplates) {
      expect(task.no_log, `${String(task.name)}: no_log`).toBe(true);
      expect((task['ansible.builtin.template'] as { mode?: string }).mode).toBe('0600');
    }
  });

  describe.skipIf(!hasAnsible || !hasCompose || !hasRsync || !isRoot)(
    `role run on localhost with a fake docker CLI${skipNote([[hasAnsible, 'ansible-playbook'], [hasCompose, 'docker-compose'], [hasRsync, 'rsync']])}${isRoot ? '' : ' [skipped: needs root (files owned by root and uid 1000)]'}`,
    () => {
      let work = '';
      let server: Server;
      let port = 0;
      let healthHits = 0;
      beforeAll(async () => {
        work = mkdtempSync(join(tmpdir(), 'athena-ansible-'));
        for (const dir of ['bin', 'state', 'src/src', 'src/node_modules/junk']) mkdirSync(join(work, dir), { recursive: true });
        const fake = join(repo, 'test/deploy/fixtures/fake-docker');
        writeFileSync(join(work, 'bin/docker'), `#!/bin/sh\nexec bash '${fake}' "$@"\n`, { mode: 0o755 });
        writeFileSync(join(work, 'src/Dockerfile'), 'FROM scratch\n');
        writeFileSync(join(work, 'src/src/main.ts'), 'export {};\n');
        writeFileSync(join(work, 'inventory.ini'), '[athena]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 ansible_become=false\n');
        server = createServer((request, response) => {
          healthHits += 1;
          response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ status: 'healthy', service: 'athena-bot' }));
        });
        await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
        port = (server.address() as AddressInfo).port;
      });
      afterAll(async () => {
        await new Promise<void>((done) => server.close(() => done()));
        rmSync(work, { recursive: true, force: true });
      });

      const target = () => join(work, 'opt-athena-bot');
      const playbook = (...extra: string[]) =>
        run(
          'ansible-playbook',
          [
            '-i', join(work, 'inventory.ini'), 'deploy-athena-bot.yml',
            '-e', `athena_dir=${target()}`, '-e', `athena_local_src=${join(work, 'src')}`,
            '-e', 'athena_install_packages=false', '-e', 'athena_manage_docker_service=false',
            '-e', 'athena_bind=127.0.0.1', '-e', `athena_port=${port}`, '-e', 'athena_health_delay=1',
            ...extra,
          ],
          { cwd: ansibleDir, env: { PATH: `${join(work, 'bin')}:${process.env.PATH}`, FAKE_DOCKER_STATE: join(work, 'state'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' } },
        );
      const recap = (output: string) => {
        const m = /localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(output);
        if (!m) throw new Error(`no PLAY RECAP in:\n${output}`);
        return { ok: Number(m[1]), changed: Number(m[2]), unreachable: Number(m[3]), failed: Number(m[4]) };
      };
      const calls = () => readFileSync(join(work, 'state/calls.log'), 'utf8').trim().split('\n');
      const clearCalls = () => writeFileSync(join(work, 'state/calls.log'), '');
      const mode = (file: string) => (statSync(join(target(), file)).mode & 0o777).toString(8);

      it('first run: copies the source, writes the files, builds, starts, waits for /health, says where the API key is', async () => {
        const result = await playbook();
        expect(recap(result.stdout), result.stdout + result.stderr).toMatchObject({ failed: 0, unreachable: 0 });
        expect(recap(result.stdout).changed).toBeGreaterThan(0);
        expect(calls()).toEqual(expect.arrayContaining(['docker compose build athena', 'docker compose up -d --remove-orphans']));
        expect(healthHits).toBeGreaterThan(0);
        expect(result.stdout).toContain(`${target()}/data/api-key`);
        expect(existsSync(join(target(), 'src/src/main.ts'))).toBe(true);
        expect(existsSync(join(target(), 'src/node_modules')), 'node_modules is not copied').toBe(false);
        expect(mode('.env')).toBe('600');
        expect(mode('data')).toBe('750');
        expect(statSync(join(target(), 'data')).uid).toBe(1000);
        const compose = readFileSync(join(target(), 'docker-compose.yml'), 'utf8');
        expect(compose).toContain('container_name: athena-bot');
        expect(compose).toContain(`"127.0.0.1:${port}:5051"`);
        const athena = (yamlToJson(compose) as ComposeConfig).services.athena;
        expectHardened(athena);
      }, 120_000);

      it('second run changes nothing (idempotent)', async () => {
        clearCalls();
        const result = await playbook();
        expect(recap(result.stdout), result.stdout).toMatchObject({ changed: 0, failed: 0 });
        expect(calls()).not.toContain('docker compose build athena');
      }, 120_000);

      it('a source change rebuilds and recreates; secrets never reach the output', async () => {
        writeFileSync(join(work, 'src/src/main.ts'), 'export const changed = true;\n');
        clearCalls();
        const secrets = ['-e', 'vault_api_key=k3y-not-for-logs-0123456789ab', '-e', 'vault_discord_token=t0ken-not-for-logs'];
        const result = await playbook(...secrets);
        expect(recap(result.stdout), result.stdout).toMatchObject({ failed: 0 });
        expect(calls()).toContain('docker compose build athena');
        expect(result.stdout + result.stderr).not.toMatch(/not-for-logs/);
        const env = readFileSync(join(target(), '.env'), 'utf8');
        expect(env).toMatch(/^API_KEY=k3y-not-for-logs-0123456789ab$/m);
        expect(env).toMatch(/^DISCORD_TOKEN=t0ken-not-for-logs$/m);
        expect(result.stdout, 'no "generated key" note when a key is given').not.toContain('/data/api-key');
        const again = await playbook(...secrets);
        expect(recap(again.stdout)).toMatchObject({ changed: 0, failed: 0 });
      }, 180_000);

      it('postgres: adds the database service, DATABASE_URL and a 0600 postgres.env', async () => {
        const result = await playbook('-e', 'athena_database=postgres', '-e', 'vault_postgres_password=pa:ss/word@1', '-e', '{"athena_env": {"DISCORD_THREADS": false}}');
        expect(recap(result.stdout), result.stdout + result.stderr).toMatchObject({ failed: 0 });
        expect(result.stdout).not.toContain('pa:ss/word@1');
        const compose = readFileSync(join(target(), 'docker-compose.yml'), 'utf8');
        expect(compose).toMatch(/image: postgres:16/);
        expect(compose).toContain('condition: service_healthy');
        const env = readFileSync(join(target(), '.env'), 'utf8');
        expect(env).toMatch(/^DATABASE_URL=postgres:\/\/athena:pa%3Ass%2Fword%401@postgres:5432\/athena$/m);
        expect(env).toMatch(/^DISCORD_THREADS=false$/m);
        expect(readFileSync(join(target(), 'postgres.env'), 'utf8')).toMatch(/^POSTGRES_PASSWORD=pa:ss\/word@1$/m);
        expect(mode('postgres.env')).toBe('600');
      }, 120_000);
    },
  );
});
