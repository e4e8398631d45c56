// The typed client as an agent written in TypeScript uses it: imported from the built package, against a real server on loopback.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AthenaClient, AthenaError, NetworkError, type ClaimedTaskJson, type CreatedJson } from 'athena/client';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { sqliteBackend } from '../helpers/stores.js';

describe('AthenaClient (athena/client)', () => {
  let t: TestApp;
  let client: AthenaClient;
  const agent = { instanceId: 'agent-1', instanceName: 'Agent one' };

  beforeEach(async () => {
    t = await openTestApp(sqliteBackend);
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    client = new AthenaClient({ baseUrl: url, apiKey: TEST_KEY });
  });
  afterEach(async () => t.close());

  it('drives a task through create, claim-next and complete', async () => {
    const created: CreatedJson = await client.create({ description: 'write the release notes', priority: 'high', labels: ['docs'] });
    expect(created).toMatchObject({ created: true, status: 'pending', task: { description: 'write the release notes', priority: 'high', labels: ['docs'] } });

    const { task } = await client.claimNext(agent, { labels: ['docs'] });
    const held: ClaimedTaskJson = task!;
    expect(held).toMatchObject({ id: created.task_id, status: 'in_progress', instance_id: 'agent-1', instance_name: 'Agent one' });
    expect(held.lease_token).toEqual(expect.any(String));

    const beat = await client.heartbeat(held.id, { lease_token: held.lease_token }, { progress: 'half done' });
    expect(beat.lease_expires_at).toEqual(expect.any(String));

    const done = await client.complete(held.id, { lease_token: held.lease_token }, { notes: 'done', result: { pages: 3 } });
    expect(done).toMatchObject({ status: 'completed', task_id: held.id, next_task_id: null, task: { status: 'completed', notes: 'done', result: { pages: 3 } } });
    expect((await client.get(held.id)).logs.map((l) => l.action)).toEqual(expect.arrayContaining(['created', 'claimed', 'completed']));
    expect((await client.stats()).completed).toBe(1);
  });

  it('throws AthenaError with the status, code and message the server answered', async () => {
    const missing = await client.get(999).catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(AthenaError);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND', message: expect.stringContaining('999') });

    const { task_id } = await client.create({ description: 'held by someone else' });
    await client.claim(task_id, agent);
    const stolen = await client.complete(task_id, { lease_token: 'not-the-token' }).catch((err: unknown) => err);
    expect(stolen).toMatchObject({ status: 409, code: 'LEASE_MISMATCH' });

    const wrongKey = new AthenaClient({ baseUrl: client.baseUrl, apiKey: 'wrong' });
    await expect(wrongKey.stats()).rejects.toMatchObject({ name: 'AthenaError', status: 401, code: 'UNAUTHORIZED' });
  });

  it('throws NetworkError, an AthenaError too, when nothing answers', async () => {
    const url = client.baseUrl;
    await t.app.close();
    const err = await new AthenaClient({ baseUrl: url, apiKey: TEST_KEY, timeoutMs: 5000 }).stats().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toBeInstanceOf(AthenaError);
    expect(err).toMatchObject({ status: 0, code: 'NETWORK' });
  });
});
