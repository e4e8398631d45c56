// GET /api/me: the calling key's name and role (the dashboard shows Pause and Resume to admin keys only).
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/stores.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';

describe.each(backends)('GET /api/me on $name', (backend) => {
  let t: KeyedApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('names the admin key, an agent key with its identity, and a reader key; refuses no key', async () => {
    t = await openKeyedApp(backend);
    expect((await t.call(ADMIN_KEY, 'GET', '/api/me')).json).toEqual({ name: 'api', role: 'admin', instance_id: null });
    const agent = await t.issue('agent', 'builder-1', 'host-7');
    expect((await t.call(agent, 'GET', '/api/me')).json).toEqual({ name: 'builder-1', role: 'agent', instance_id: 'host-7' });
    const reader = await t.issue('reader', 'wall screen');
    expect((await t.call(reader, 'GET', '/api/me')).json).toEqual({ name: 'wall screen', role: 'reader', instance_id: null });
    // What /api/me tells the dashboard matches what the server enforces: a reader may not pause.
    expect((await t.call(reader, 'POST', '/api/queue/pause', {})).status).toBe(403);
    expect((await t.call(null, 'GET', '/api/me')).status).toBe(401);
  });
});
