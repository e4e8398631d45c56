// The Swagger UI at /docs, loaded on first use: the page, its assets and the document it shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { sqliteBackend } from '../helpers/stores.js';

describe('GET /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await openTestApp(sqliteBackend);
  });
  afterAll(async () => t.close());

  it('serves the UI page and its script without a key', async () => {
    for (const url of ['/docs', '/docs/']) {
      const page = await t.app.inject({ method: 'GET', url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).toContain('swagger-ui');
    }
    const old = await t.app.inject({ method: 'GET', url: '/docs/static/index.html' });
    expect(old.statusCode).toBe(302);
    expect(old.headers.location).toBe('/docs/');
    const script = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(script.statusCode).toBe(200);
    expect(script.body).toContain('./json');
  });

  it('shows the app\'s own document, with every route', async () => {
    const viaUi = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(viaUi.paths).toHaveProperty(['/api/tasks/claim-next']);
    expect(viaUi.paths).not.toHaveProperty(['/docs/*']);
    expect(viaUi).toEqual(await t.app.openApiDocument());
  });

  it('answers 404 for a file the UI does not have', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/static/nothing-here.js' });
    expect(res.statusCode).toBe(404);
  });
});
