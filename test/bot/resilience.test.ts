// Discord misbehaving: 429s, 5xx, an outage across a restart, a bad token, an unreachable or slow
// API. Notifications arrive once each; the REST API never waits for Discord.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js';
import type { RecordedCall } from '../helpers/fake-discord/types.js';
import { tempDir } from '../helpers/stores.js';
import { botEnv, eventually, startBotServer, type BotServer } from './harness.js';

const MESSAGE_POST = /^\/channels\/\d+\/messages$/;

type World = { fake: FakeDiscord; dbPath: string; servers: BotServer[]; cleanup(): void };
let world: World | null = null;

async function setUp(): Promise<World> {
  const fake = await startFakeDiscord();
  const dir = tempDir('athena-bot-');
  world = { fake, dbPath: join(dir.path, 'athena.db'), servers: [], cleanup: dir.cleanup };
  return world;
}

afterEach(async () => {
  if (!world) return;
  for (const s of world.servers) await s.stop();
  await world.fake.close();
  world.cleanup();
  world = null;
});

async function serve(w: World, extra: Record<string, string> = {}): Promise<BotServer> {
  const server = await startBotServer(botEnv(w.fake, w.dbPath, extra));
  w.servers.push(server);
  return server;
}

async function connected(w: World): Promise<void> {
  const before = w.fake.calls({ method: 'PUT', path: /\/commands$/, status: 200 }).length;
  await eventually(() => w.fake.calls({ method: 'PUT', path: /\/commands$/, status: 200 }).length > before, 10_000, 'the bot to connect');
}

async function create(s: BotServer, description: string): Promise<number> {
  const res = await s.api('POST', '/api/tasks', { description });
  expect(res.status).toBe(201);
  return res.json.task_id;
}

/** Accepted message posts (what Discord stored), by nonce. */
function accepted(fake: FakeDiscord): RecordedCall[] {
  return fake.calls({ method: 'POST', path: MESSAGE_POST, status: 200 });
}

function mentions(call: RecordedCall, id: number): boolean {
  return JSON.stringify(call.body?.embeds ?? []).includes(`#${id}`);
}

function expectOncePerNonce(fake: FakeDiscord): void {
  const nonces = accepted(fake).map((c) => c.body.nonce);
  expect(nonces.every((n) => typeof n === 'string')).toBe(true);
  expect(new Set(nonces).size).toBe(nonces.length);
}

describe('rate limits and server errors', () => {
  it('waits out 429s (retry_after) and delivers once', async () => {
    const w = await setUp();
    const s = await serve(w);
    await connected(w);
    w.fake.rateLimitNext({ method: 'POST', path: MESSAGE_POST, times: 2, retryAfter: 0.3 });
    const id = await create(s, 'Rate limited announcement');
    const delivered = await eventually(() => accepted(w.fake).find((c) => mentions(c, id)), 8000, 'delivery after 429s');
    const limited = w.fake.calls({ method: 'POST', path: MESSAGE_POST, status: 429 });
    expect(limited).toHaveLength(2);
    expect(delivered.at - limited[1]!.at).toBeGreaterThanOrEqual(250);
    expect(accepted(w.fake).filter((c) => mentions(c, id))).toHaveLength(1);
    expectOncePerNonce(w.fake);
  });

  it('retries 5xx with backoff until Discord recovers, in event order, once each', async () => {
    const w = await setUp();
    const s = await serve(w, { DISCORD_THREADS: 'false' });
    await connected(w);
    const outage = w.fake.failNext(503, { method: 'POST', path: MESSAGE_POST, times: Infinity });
    const first = await create(s, 'During the outage 1');
    await eventually(() => w.fake.calls({ method: 'POST', path: MESSAGE_POST, status: 503 }).length >= 4, 15_000, 'failed attempts');
    const health = (await s.api('GET', '/api/health')).json;
    expect(health.status).toBe('degraded');
    expect(health.checks.discord.ok).toBe(false);
    expect(health.checks.discord.detail).toMatch(/could not deliver a notification/);
    const second = await create(s, 'During the outage 2');
    // The REST API answered during the outage without waiting for Discord. The outage then lasts a
    // while on purpose (deliveries fail and retry); nothing is asserted about this wait.
    await new Promise((r) => setTimeout(r, 300));
    outage.cancel();
    await eventually(() => accepted(w.fake).some((c) => mentions(c, second)), 10_000, 'delivery after the outage');
    const order = accepted(w.fake).map((c) => (mentions(c, first) ? first : mentions(c, second) ? second : null));
    expect(order).toEqual([first, second]);
    expectOncePerNonce(w.fake);
    await eventually(async () => (await s.api('GET', '/api/health')).json.checks.discord.ok === true, 15_000, 'health to recover');
  });
});

describe('restarts', () => {
  it('delivers what was pending when the server stopped, once, after it starts again', async () => {
    const w = await setUp();
    const s1 = await serve(w);
    await connected(w);
    w.fake.failNext(502, { method: 'POST', path: MESSAGE_POST, times: Infinity });
    const a = await create(s1, 'Queued while Discord was down');
    const b = await create(s1, 'Also queued while Discord was down');
    const claimed = await s1.api('POST', `/api/tasks/${a}/claim`, { instance_id: 'agent-1', instance_name: 'agent-1' });
    expect(claimed.status).toBe(200);
    await eventually(() => w.fake.calls({ method: 'POST', path: MESSAGE_POST, status: 502 }).length > 0, 15_000, 'a failed attempt');
    await s1.stop();
    expect(accepted(w.fake)).toHaveLength(0);

    w.fake.clearFaults();
    await serve(w);
    await eventually(() => accepted(w.fake).length >= 2, 10_000, 'the pending messages');
    // The claim goes to the thread started from A's announcement.
    const threadOfA = await eventually(() => w.fake.threads('claude-tasks').find((t) => t.name.startsWith(`#${a} · `)), 15_000, 'the thread of A');
    await eventually(() => w.fake.channelMessages(threadOfA.id).some((m) => m.embeds[0]?.title === `🔨 Task #${a} claimed by agent-1`), 15_000, 'the claim');
    // A fixed wait on purpose: it checks that nothing more is posted (no second copy in the channel or the thread).
    await new Promise((r) => setTimeout(r, 500));
    const inChannel = w.fake.channelMessages('claude-tasks').map((m) => m.embeds[0]?.fields?.[0]?.value);
    expect(inChannel).toEqual([`#${a}`, `#${b}`]);
    expect(w.fake.channelMessages(threadOfA.id)).toHaveLength(1);
    expectOncePerNonce(w.fake);
  });

  it('does not resend the part of a batch Discord already accepted', async () => {
    const w = await setUp();
    const s1 = await serve(w, { DISCORD_NOTIFY_COALESCE_MS: '600', DISCORD_THREADS: 'false' });
    await connected(w);
    const a = await create(s1, 'First of the batch');
    const b = await create(s1, 'Second of the batch');
    // A is accepted; B keeps failing; then the server stops in the middle of the batch.
    w.fake.failNext(500, { method: 'POST', path: (c) => MESSAGE_POST.test(c.path) && mentions(c, b), times: Infinity });
    await eventually(() => accepted(w.fake).some((c) => mentions(c, a)), 15_000, 'A');
    await eventually(() => w.fake.calls({ method: 'POST', path: MESSAGE_POST, status: 500 }).length > 0, 15_000, 'B to fail');
    await s1.stop();

    w.fake.clearFaults();
    await serve(w, { DISCORD_NOTIFY_COALESCE_MS: '600', DISCORD_THREADS: 'false' });
    await eventually(() => accepted(w.fake).some((c) => mentions(c, b)), 10_000, 'B after the restart');
    // A fixed wait on purpose: it checks that nothing more is sent (no duplicate after the restart).
    await new Promise((r) => setTimeout(r, 300));
    expect(accepted(w.fake).map((c) => (mentions(c, a) ? 'A' : mentions(c, b) ? 'B' : '?'))).toEqual(['A', 'B']);
    expectOncePerNonce(w.fake);
  });

  it('finds a task thread made before the restart and keeps posting there', async () => {
    const w = await setUp();
    const s1 = await serve(w);
    await connected(w);
    const id = await create(s1, 'Long-running task');
    const thread = await eventually(() => w.fake.threads('claude-tasks').find((t) => t.name.startsWith(`#${id} · `)), 15_000, 'the thread');
    await s1.stop();

    const s2 = await serve(w);
    await connected(w);
    expect((await s2.api('POST', `/api/tasks/${id}/claim`, { instance_id: 'agent-1', instance_name: 'agent-1' })).status).toBe(200);
    await eventually(() => w.fake.channelMessages(thread.id).some((m) => m.embeds[0]?.title === `🔨 Task #${id} claimed by agent-1`), 15_000, 'the claim in the old thread');
    expect(w.fake.threads('claude-tasks')).toHaveLength(1);
  });

  it('starts at the newest event on first start instead of replaying history', async () => {
    const w = await setUp();
    const env = botEnv(w.fake, w.dbPath);
    delete env.DISCORD_TOKEN;
    const plain = await startBotServer(env);
    const old = await create(plain, 'Created before the bot existed');
    await plain.stop();

    const s = await serve(w);
    await connected(w);
    const fresh = await create(s, 'Created with the bot running');
    await eventually(() => accepted(w.fake).some((c) => mentions(c, fresh)), 15_000, 'the new task');
    expect(accepted(w.fake).some((c) => mentions(c, old))).toBe(false);
  });
});

describe('Discord unavailable', () => {
  it('a rejected token never blocks the REST API, and /health says why', async () => {
    const w = await setUp();
    const started = Date.now();
    const s = await serve(w, { DISCORD_TOKEN: 'not-the-right-token' });
    expect(Date.now() - started).toBeLessThan(5000);
    const id = await create(s, 'Works without Discord');
    expect((await s.api('GET', `/api/tasks/${id}`)).status).toBe(200);
    const health = await eventually(async () => {
      const res = await s.api('GET', '/api/health');
      return res.json.checks.discord?.detail === 'Discord rejected DISCORD_TOKEN' ? res : undefined;
    }, 15_000, 'the token to be reported');
    expect(health.status).toBe(200);
    expect(health.json.checks.discord.ok).toBe(false);
    expect((await s.api('GET', '/ready')).status).toBe(200);
    expect(accepted(w.fake)).toHaveLength(0);
  });

  it('an unreachable or hanging Discord does not delay startup or requests, and stopping stays quick', async () => {
    const w = await setUp();
    // Every REST call to the fake hangs for 20 s (longer than the test).
    w.fake.delayNext(20_000, { times: Infinity });
    const started = Date.now();
    const s = await serve(w);
    expect(Date.now() - started).toBeLessThan(5000);
    const t0 = Date.now();
    await create(s, 'Fast even though Discord hangs');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await s.api('GET', '/api/health')).json.checks.discord).toMatchObject({ ok: false, detail: 'connecting' });
    const stopping = Date.now();
    await s.stop();
    world!.servers = [];
    expect(Date.now() - stopping).toBeLessThan(5000);
  });

  it('a closed port as DISCORD_API_BASE is retried in the background', async () => {
    const w = await setUp();
    const closed = await startFakeDiscord();
    const deadUrl = closed.restUrl;
    await closed.close();
    const s = await serve(w, { DISCORD_API_BASE: deadUrl });
    await create(s, 'Still served');
    const health = await eventually(async () => {
      const res = await s.api('GET', '/api/health');
      return /cannot reach Discord/.test(res.json.checks.discord?.detail ?? '') ? res.json : undefined;
    }, 15_000, 'the connection failure to be reported');
    expect(health.checks.discord.ok).toBe(false);
  });
});
