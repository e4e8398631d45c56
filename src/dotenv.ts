// Reads ./.env into process.env at start-up (server and CLI) with Node's own parser; the real environment wins.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config-error.js';

const ASSIGNMENT = /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=/;
const QUOTES = ['"', "'", '`'];

/**
 * The lines Node's parser would silently skip (it ignores anything that is not NAME=value), as
 * `line N: …` messages: a typo in .env should stop the start, not drop a setting unnoticed.
 */
export function dotEnvProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  let openQuote: string | null = null;
  lines.forEach((line, i) => {
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = null;
      return;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (!ASSIGNMENT.test(line)) {
      problems.push(`line ${i + 1}: expected NAME=value, got "${trimmed.length > 60 ? `${trimmed.slice(0, 60)}…` : trimmed}"`);
      return;
    }
    // A quoted value may span lines: skip to its closing quote.
    const value = line.slice(line.indexOf('=') + 1).trimStart();
    const quote = QUOTES.find((q) => value.startsWith(q));
    if (quote && !value.slice(1).includes(quote)) openQuote = quote;
  });
  return problems;
}

export type DotEnvResult = { path: string; loaded: boolean; reason?: string };

/**
 * Loads `<dir>/.env` when there is one. Variables already in the environment keep their values
 * (process.loadEnvFile never overwrites). Throws ConfigError naming the file and line when it is malformed.
 */
export function loadDotEnv(dir: string = process.cwd()): DotEnvResult {
  const path = join(dir, '.env');
  if (!existsSync(path)) return { path, loaded: false, reason: 'no file' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read it: ${(err as Error).message}`]);
  }
  const problems = dotEnvProblems(text);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${path} ${p}`));
  // Node 20.12 and newer; on an older Node, say so rather than ignore the file.
  if (typeof process.loadEnvFile !== 'function') return { path, loaded: false, reason: `needs Node 20.12 or newer to be read (this is ${process.version})` };
  process.loadEnvFile(path);
  return { path, loaded: true };
}
