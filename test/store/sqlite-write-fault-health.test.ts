// A full disk leaves reads working: /health must still say the database is failing, and recover.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { sqliteBackend } from '../helpers/stores.js';
import type { SqliteDb } from '../../src/store/sqlite/driver.js';

describe('health while SQLite writes fail', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(sqliteBackend);
  });
  afterEach(async () => t.close());

  it('reports degraded (still 200) and not ready while writes fail, healthy again after a write succeeds', async () => {
    const raw = (t.db as SqliteDb).raw;
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json().status).toBe('healthy');
    // No room for another page: the next create fails the way a full disk does (SQLITE_FULL). VACUUM
    // first hands back the free pages (migrations drop tables), which a new row would otherwise reuse.
    raw.exec('VACUUM');
    expect(Number(raw.pragma('freelist_count', { simple: true }))).toBe(0);
    const pages = Number(raw.pragma('page_count', { simple: true }));
    raw.pragma(`max_page_count = ${pages}`);
    const refused = await t.call('POST', '/api/tasks', { description: 'x'.repeat(9000) });
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe('UNAVAILABLE');

    expect((await t.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'degraded', service: 'athena-bot' });
    const health = await t.call('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'degraded', checks: { database: { ok: false } } });
    expect(health.json.checks.database.detail).toMatch(/full/);
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    expect((await t.call('GET', '/api/stats')).status).toBe(200);

    raw.pragma(`max_page_count = ${pages + 100_000}`);
    expect((await t.call('POST', '/api/tasks', { description: 'fits now' })).status).toBe(201);
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json().status).toBe('healthy');
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  });
});
