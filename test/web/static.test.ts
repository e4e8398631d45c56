// The dashboard page and its files: served at / without data, strict CSP, caching, no path escapes, shipped with the bundle.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAssets, publicDir } from '../../src/web/assets.js';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { startServerProcess } from '../helpers/server-process.js';
import { sqliteBackend, tempDir } from '../helpers/stores.js';

describe('dashboard files', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await openTestApp(sqliteBackend);
    await t.queue.create({ description: 'secret task text' });
  });
  afterAll(() => t.close());

  it('serves the page at / with a strict Content-Security-Policy and no task data', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.body).toContain('<script type="module" src="assets/app.js">');
    expect(res.body).not.toContain('secret task text');
  });

  it('serves every file the page references with its type, and revalidates with ETag', async () => {
    const html = (await t.app.inject({ method: 'GET', url: '/' })).body;
    const refs = [...html.matchAll(/(?:src|href)="assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['app.js', 'style.css', 'icon.svg']));
    for (const ref of refs) {
      const res = await t.app.inject({ method: 'GET', url: `/assets/${ref}` });
      expect(res.statusCode, ref).toBe(200);
    }
    const js = await t.app.inject({ method: 'GET', url: '/assets/app.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // Every module app.js imports is served too.
    for (const m of js.body.matchAll(/from '\.\/([\w-]+\.js)'/g)) {
      expect((await t.app.inject({ method: 'GET', url: `/assets/${m[1]}` })).statusCode, m[1]).toBe(200);
    }
    const again = await t.app.inject({ method: 'GET', url: '/assets/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await t.app.inject({ method: 'GET', url: '/assets/style.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers unknown files and path tricks with a JSON 404, never a file outside the folder', async () => {
    for (const url of ['/assets/nope.js', '/assets/../package.json', '/assets/..%2f..%2fpackage.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/', '/index.html']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ code: 'NOT_FOUND' });
      expect(res.body).not.toContain('"dependencies"');
    }
  });

  it('the browser code never turns data into markup (no innerHTML and friends)', () => {
    const dir = publicDir();
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(3);
    for (const file of scripts) {
      const code = readFileSync(join(dir, file), 'utf8');
      expect(code, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    }
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).not.toMatch(/<script>|\son\w+=/i); // no inline code for CSP to refuse
  });

  it('loads only files of known types from the folder', () => {
    const assets = loadAssets();
    expect([...assets.keys()].sort()).toEqual(readdirSync(publicDir()).filter((f) => /\.(html|js|css|svg)$/.test(f)).sort());
  });
});

describe('the built bundle', () => {
  it('finds and serves the dashboard from dist/athena.mjs', async () => {
    const dir = tempDir();
    const server = await startServerProcess({ dataDir: dir.path });
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Athena</title>');
      expect((await fetch(`${server.url}/assets/app.js`)).status).toBe(200);
    } finally {
      await server.stop();
      dir.cleanup();
    }
  });
});
