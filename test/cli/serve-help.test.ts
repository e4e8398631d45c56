// `athena serve --help` lists the main variables from the config schema and points to the full list.
import { describe, expect, it } from 'vitest';
import { runCli } from './harness.js';

describe('athena serve --help', () => {
  it('lists the main variables with their defaults and points to docs/configuration.md', async () => {
    const res = await runCli(['serve', '--help'], { PATH: process.env.PATH });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^ {2}API_PORT +port \(default 5051\)$/m);
    expect(res.stdout).toMatch(/^ {2}DATABASE_URL +postgres:\/\/… selects PostgreSQL instead of SQLite$/m);
    expect(res.stdout).toContain('also read from ./.env');
    expect(res.stdout).toContain('docs/configuration.md');
    // The other way to ask, which runs no hook, lists them too.
    const other = await runCli(['help', 'serve'], { PATH: process.env.PATH });
    expect(other.stdout).toMatch(/^ {2}API_PORT +port \(default 5051\)$/m);
  });
});
