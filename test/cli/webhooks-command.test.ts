// `athena webhooks add|list|deliveries|redeliver|enable|rm` against a real server whose delivery loop posts
// to a receiver on 127.0.0.1: the wiring end to end (events wake the loop, signatures verify).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/core/webhooks.js';
import { cliEnv, json, runCli, startTestServer, until, type TestServer } from './harness.js';

type Got = { delivery: string; event: string; signature: string; body: string };

let t: TestServer;
let env: NodeJS.ProcessEnv;
let receiver: Server;
let receiverUrl: string;
const got: Got[] = [];

beforeAll(async () => {
  t = await startTestServer({ WIP_LIMIT: '0', WEBHOOK_POLL_SECONDS: '0.2' });
  env = cliEnv(t.url);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        delivery: String(req.headers['x-athena-delivery']),
        event: String(req.headers['x-athena-event']),
        signature: String(req.headers['x-athena-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/athena`;
});
afterAll(async () => {
  await t?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

describe('athena webhooks', () => {
  it('adds a webhook, receives signed events from the server, lists deliveries, redelivers, removes', async () => {
    const added = await runCli(['webhooks', 'add', receiverUrl, '-e', 'task.created,task.completed', '--json'], env);
    expect(added.code).toBe(0);
    const hook = json(added);
    expect(hook).toMatchObject({ url: receiverUrl, events: ['task.created', 'task.completed'], enabled: true });
    const human = await runCli(['webhooks', 'add', receiverUrl, '-e', 'task.failed', '-l', 'db'], env);
    expect(human.stdout).toMatch(/🪝 Webhook #\d+ → .* \(task\.failed\)\n {3}secret: whsec_/);

    const { task } = await t.server.queue.create({ description: 'deploy the docs', labels: ['docs'] });
    await until(() => got.some((g) => g.event === 'task.created'), 15_000, 'the task.created delivery');
    const first = got.find((g) => g.event === 'task.created')!;
    expect(verifySignature(hook.secret, first.body, first.signature, Math.floor(Date.now() / 1000))).toBe(true);
    expect(JSON.parse(first.body)).toMatchObject({ id: Number(first.delivery), event: 'task.created', task: { id: task.id, description: 'deploy the docs' } });

    const list = await runCli(['webhooks'], env);
    expect(list.stdout).toContain(`#${hook.id}`);
    expect(list.stdout).not.toContain(hook.secret);
    await until(async () => json(await runCli(['webhooks', 'deliveries', String(hook.id), '--json'], env)).deliveries[0]?.status === 'delivered', 15_000, 'delivered status');
    const shown = await runCli(['webhooks', 'deliveries', String(hook.id)], env);
    expect(shown.stdout).toMatch(new RegExp(`${first.delivery}\\s+task\\.created\\s+#${task.id}\\s+delivered\\s+1 attempt\\(s\\)\\s+HTTP 200`));

    const before = got.length;
    const again = await runCli(['webhooks', 'redeliver', String(hook.id), first.delivery], env);
    expect(again.stdout).toContain(`Delivery ${first.delivery} (task.created of #${task.id}) queued again`);
    await until(() => got.length > before, 15_000, 'the redelivery');
    expect(got.at(-1)!.delivery).toBe(first.delivery);

    // Disabled after a long failure (as the delivery loop does), then enabled again from the CLI.
    await t.server.db.run("UPDATE webhooks SET enabled = 0, disabled_reason = 'failing since yesterday' WHERE id = ?", [hook.id]);
    expect((await runCli(['webhooks'], env)).stdout).toContain('disabled: failing since yesterday');
    const enabled = await runCli(['webhooks', 'enable', String(hook.id)], env);
    expect(enabled.stdout).toContain(`Webhook #${hook.id} enabled again (${receiverUrl})`);
    expect((await runCli(['webhooks', '--json'], env)).stdout).toContain('"enabled": true');

    expect((await runCli(['webhooks', 'rm', String(hook.id)], env)).stdout).toContain(`Webhook #${hook.id} removed`);
    const gone = await runCli(['webhooks', 'deliveries', String(hook.id)], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('NOT_FOUND');
    const refused = await runCli(['webhooks', 'add', 'ftp://example.com/x'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('url must be http or https');
  }, 120_000);
});
