// Discord faults: while the fake Discord answers with 429 storms, 500s and slow responses and drops the
// gateway, the REST API of a real server process answers as fast as without Discord trouble, and once
// Discord behaves again every notification arrives, exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, percentile } from '../../bench/http-client.js';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

const TASKS = 40;
const MESSAGE_POST = /^\/channels\/\d+\/messages$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('Discord faults', () => {
  let fake: FakeDiscord;
  let server: ServerProcess;
  const dir = tempDir('athena-discord-faults-');
  beforeAll(async () => {
    fake = await startFakeDiscord();
    server = await startServerProcess({
      dataDir: dir.path,
      env: {
        DISCORD_TOKEN: fake.token,
        DISCORD_API_BASE: fake.restUrl,
        DISCORD_GUILD_ID: fake.guildId,
        // One message per event (no burst summaries), all in the channel: each one can be counted.
        DISCORD_NOTIFY_BURST: '1000',
        DISCORD_NOTIFY_COALESCE_MS: '150',
        DISCORD_THREADS: 'false',
        BACKUP_INTERVAL_HOURS: '0',
        WIP_LIMIT: '0',
      },
    });
    await eventually(() => fake.calls({ method: 'PUT', path: /\/commands$/, status: 200 }).length > 0, 20_000, 'the bot to connect');
  });
  afterAll(async () => {
    await server?.stop();
    await fake?.close();
    dir.cleanup();
  });

  it('API latency is unaffected by a misbehaving Discord; every notification arrives once afterwards', async () => {
    const client = createClient(server.url, server.key, 16);
    const timed = async (method: string, path: string, body?: unknown) => {
      const t0 = performance.now();
      const res = await client.call(method, path, body);
      return { res, ms: performance.now() - t0 };
    };
    /** Creates, claims and completes `count` tasks one by one; returns their ids and each request's latency. */
    const cycle = async (count: number, tag: string, pauseMs = 0) => {
      const ids: number[] = [];
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        const created = await timed('POST', '/api/tasks', { description: `${tag} ${i}` });
        expect(created.res.status).toBe(201);
        const id = created.res.json.task_id as number;
        const claimed = await timed('POST', `/api/tasks/${id}/claim`, { instance_id: 'agent-1' });
        expect(claimed.res.status).toBe(200);
        const done = await timed('POST', `/api/tasks/${id}/complete`, { lease_token: claimed.res.json.lease_token });
        expect(done.res.status).toBe(200);
        const read = await timed('GET', '/api/stats');
        ids.push(id);
        latencies.push(created.ms, claimed.ms, done.ms, read.ms);
        await sleep(pauseMs);
      }
      return { ids, latencies: latencies.sort((a, b) => a - b) };
    };

    // Baseline with a healthy Discord.
    const calm = await cycle(TASKS / 2, 'calm');
    await eventually(() => fake.calls({ method: 'POST', path: MESSAGE_POST, status: 200 }).length >= calm.ids.length * 3, 20_000, 'the calm notifications');

    // The storm: every kind of fault at once, and the gateway drops twice. Agents keep working through
    // all of it, until Discord has given every fault.
    fake.rateLimitNext({ method: 'POST', path: MESSAGE_POST, times: 20, retryAfter: 0.2 });
    fake.rateLimitNext({ times: 3, retryAfter: 0.5, global: true });
    fake.failNext(500, { method: 'POST', path: MESSAGE_POST, times: 10 });
    fake.failNext(502, { method: 'POST', path: MESSAGE_POST, times: 4 });
    fake.delayNext(1500, { method: 'POST', path: MESSAGE_POST, times: 4 });
    const INJECTED = 20 + 10 + 4; // the 429s and 5xx on message posts (delays answer 200, late)
    const faulty = () => fake.calls({ method: 'POST', path: MESSAGE_POST }).filter((c) => c.status !== 200).length;
    const stormy = { ids: [] as number[], latencies: [] as number[] };
    fake.disconnectGateway(4000);
    const stormStarted = Date.now();
    for (let round = 0; (faulty() < INJECTED || round < TASKS / 2) && Date.now() - stormStarted < 60_000; round++) {
      if (round === 5) fake.dropGateway();
      const one = await cycle(1, `storm ${round}`, 150);
      stormy.ids.push(...one.ids);
      stormy.latencies.push(...one.latencies);
    }
    stormy.latencies.sort((a, b) => a - b);
    const faultsDuring = faulty();
    expect(faultsDuring).toBeGreaterThanOrEqual(INJECTED);

    const calmP99 = percentile(calm.latencies, 99);
    const stormP99 = percentile(stormy.latencies, 99);
    const stormMax = stormy.latencies.at(-1)!;
    console.log(
      `[discord faults] API latency p50/p99/max: calm ${percentile(calm.latencies, 50).toFixed(1)}/${calmP99.toFixed(1)}/${calm.latencies.at(-1)!.toFixed(1)} ms, ` +
        `during the storm ${percentile(stormy.latencies, 50).toFixed(1)}/${stormP99.toFixed(1)}/${stormMax.toFixed(1)} ms; ${faultsDuring} faulty Discord answers meanwhile, ${stormy.ids.length} tasks`,
    );
    // Nothing in a request waits for Discord (which here takes 2 s to answer some calls).
    expect(stormMax).toBeLessThan(1000);
    expect(stormP99).toBeLessThan(calmP99 * 3 + 100);

    // Discord behaves again: every event of every task is posted, once.
    fake.clearFaults();
    const all = [...calm.ids, ...stormy.ids];
    const posted = () => fake.calls({ method: 'POST', path: MESSAGE_POST, status: 200 });
    await eventually(() => posted().length >= all.length * 3, 60_000, `${all.length * 3} notifications`);
    await sleep(1000); // anything extra would show up now
    const messages = posted().map((c) => JSON.stringify(c.body?.embeds ?? []));
    const count = (re: RegExp) => messages.filter((m) => re.test(m)).length;
    const missingOrTwice: string[] = [];
    for (const id of all) {
      const queued = messages.filter((m) => m.includes('📋 Task Queued') && m.includes(`"value":"#${id}"`)).length;
      const claimed = count(new RegExp(`🔨 Task #${id} claimed`));
      const completed = count(new RegExp(`✅ Task #${id} completed`));
      if (queued !== 1 || claimed !== 1 || completed !== 1) missingOrTwice.push(`#${id}: queued ${queued}, claimed ${claimed}, completed ${completed}`);
    }
    expect(missingOrTwice).toEqual([]);
    expect(messages).toHaveLength(all.length * 3);
    const nonces = posted().map((c) => c.body?.nonce);
    expect(new Set(nonces).size).toBe(nonces.length);
    // The bot came back on the gateway after both drops.
    expect(fake.gatewayConnections().length).toBeGreaterThanOrEqual(2);
    const health = await fetch(`${server.url}/api/health`, { headers: { 'x-api-key': server.key } }).then((r) => r.json());
    expect(health.checks.discord?.ok).toBe(true);
    client.close();
  });
});
