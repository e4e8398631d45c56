// Input limits shared by every surface, so the API, the bot and MCP refuse the same things.

export const LIMITS = {
  descriptionMax: 10_000,
  notesMax: 20_000,
  errorMax: 20_000,
  resultBytesMax: 256 * 1024,
  labelMax: 64,
  labelsMax: 20,
  projectMax: 200,
  dependsOnMax: 50,
  idempotencyKeyMax: 200,
  instanceIdMax: 200,
  listLimitMax: 500,
  listLimitDefault: 100,
  maxAttemptsMax: 100,
  /** One comment; Discord's message limit, so every comment fits in a thread message. */
  commentMax: 2000,
  authorMax: 200,
  /** Nesting levels of a task result; deeper JSON cannot be stored or shown without overflowing the stack. */
  resultDepthMax: 64,
  /** The latest time stored (end of year 9999): later ones have no ISO 8601 form without an extended year. */
  latestTimeMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  /** The earliest time stored (year 0000), the earliest ISO 8601 writes without an extended year. */
  earliestTimeMs: Date.parse('0000-01-01T00:00:00.000Z'),
} as const;

/**
 * Why a task result cannot be kept (too deeply nested, too large), or null when it can. Walks the
 * value with its own stack, so a hostile nesting depth cannot overflow the call stack here either.
 */
export function resultProblem(result: unknown): string | null {
  const pending: Array<[unknown, number]> = [[result, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > LIMITS.resultDepthMax) return `result is nested more than ${LIMITS.resultDepthMax} levels deep`;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  const bytes = Buffer.byteLength(JSON.stringify(result) ?? '');
  return bytes > LIMITS.resultBytesMax ? `result is ${bytes} bytes as JSON; the limit is ${LIMITS.resultBytesMax}` : null;
}

export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$/;
