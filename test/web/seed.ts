// Fills a running server with a small, realistic fleet over REST: every state, several agents, a question.

export type Rest = (method: string, path: string, body?: unknown) => Promise<any>;

export function restClient(url: string, key: string): Rest {
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

export async function claim(rest: Rest, instance: string, name: string, labels: string[] | '*' = '*') {
  const { task } = await rest('POST', '/api/tasks/claim-next', { instance_id: instance, instance_name: name, labels });
  return task as { id: number; lease_token: string };
}

export async function seedFleet(rest: Rest): Promise<void> {
  const add = (description: string, priority: string, project: string | null, labels: string[] = []) =>
    rest('POST', '/api/tasks', { description, priority, labels, ...(project ? { project } : {}) });

  await add('Upgrade the CI runners to Node 22 and fix the failing matrix jobs', 'medium', 'infra', ['ci']);
  await add('Fix the flaky login test in auth.spec.ts (times out on slow runners)', 'high', 'webapp', ['typescript']);
  await add('Write a migration that backfills missing user display names', 'medium', 'webapp', ['sql']);
  await add('Profile the /search endpoint and cut p95 latency below 200 ms', 'high', 'api', ['python', 'perf']);
  await add('Add dark mode to the settings page', 'low', 'webapp', ['css']);
  await add('Translate the onboarding emails to German', 'low', 'marketing');
  await add('Bump dependencies and regenerate the lockfile', 'medium', 'api', ['python']);
  await add('Investigate memory growth in the PDF renderer worker', 'high', 'api', ['python']);

  const a = await claim(rest, 'host-a', 'claude-a');
  await rest('POST', `/api/tasks/${a.id}/heartbeat`, { lease_token: a.lease_token, progress: 'reproduced the timeout locally' });
  const b = await claim(rest, 'host-b', 'claude-b');
  await rest('POST', `/api/tasks/${b.id}/ask`, { lease_token: b.lease_token, question: 'Should the p95 target hold for cold caches too, or only warm?' });
  const c = await claim(rest, 'host-c', 'claude-c');
  await rest('POST', `/api/tasks/${c.id}/complete`, { lease_token: c.lease_token, notes: 'Runners on Node 22; two jobs needed a newer Playwright.', result: { pr: 'https://example.invalid/pr/412', files_changed: 7 } });
  const d = await claim(rest, 'host-c', 'claude-c');
  await rest('POST', `/api/tasks/${d.id}/fail`, { lease_token: d.lease_token, error: 'pg_dump: permission denied for table users (needs the migration role)' });
  const e = await claim(rest, 'host-c', 'claude-c');
  await rest('POST', `/api/tasks/${e.id}/complete`, { lease_token: e.lease_token, notes: 'Done.' });
  const f = await claim(rest, 'host-c', 'claude-c');
  await rest('POST', `/api/tasks/${f.id}/release`, { lease_token: f.lease_token, reason: 'handing over' });
  await add('Remove the legacy v1 export endpoint', 'low', 'api').then((t) => rest('POST', `/api/tasks/${t.task_id}/cancel`, { reason: 'still used by a customer' }));
  const g = await claim(rest, 'host-d', 'codex-d');
  void g;
}
