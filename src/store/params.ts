// Turns the values the SQL store passes into what both drivers take, so both backends store alike.
import { InvalidError } from '../errors.js';

/** Parameters as the drivers take them (a plain loop: this runs for every statement). */
export function toParams(params: readonly unknown[]): unknown[] {
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = toParam(params[i]);
  return out;
}

function toParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  // PostgreSQL refuses NUL in text; refusing it before either driver sees it keeps both backends
  // alike (and a SQLite queue movable to PostgreSQL with migrate-data).
  if (typeof value === 'string' && value.includes('\u0000')) throw new InvalidError('Text must not contain NUL (\\u0000) characters');
  return value;
}
