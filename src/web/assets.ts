// Finds the dashboard's static files (src/web/public) from source or the bundle and holds them in memory.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Asset = { body: Buffer; contentType: string; etag: string };

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

export function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Source (src/web) and bundle (dist/) both resolve to src/web/public.
  const candidates = [join(here, 'public'), resolve(here, '../src/web/public'), resolve(here, '../../src/web/public')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`dashboard assets not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Reads every file of the public folder once, keyed by its path relative to it ('app.js', 'index.html').
 * Only these names are ever served, so no request path reaches the file system.
 */
export function loadAssets(dir: string = publicDir()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = join(dir, rel);
      if (statSync(full).isDirectory()) {
        walk(rel);
        continue;
      }
      const contentType = CONTENT_TYPES[extname(name)];
      if (!contentType) continue;
      const body = readFileSync(full);
      assets.set(rel, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    }
  };
  walk('');
  return assets;
}
