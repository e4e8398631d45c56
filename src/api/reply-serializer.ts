// How replies become JSON: JSON.stringify, as before the routes had response schemas. Checking every reply against its
// zod schema cost the claim/complete cycle about a third more CPU, so that check runs where it finds mistakes: in tests.
import type { FastifySerializerCompiler } from 'fastify';
import { z } from 'zod';

export class ReplyShapeError extends Error {
  constructor(route: string, problem: string) {
    super(`${route} answered a reply its response schema does not describe: ${problem}`);
    this.name = 'ReplyShapeError';
  }
}

const stringify = (data: unknown) => JSON.stringify(data);

/** JSON with every object's keys sorted: equal for equal values whatever order the keys came in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );

/**
 * With `check`, a reply its schema refuses, or would change (a key the schema does not list would be dropped),
 * fails the request, so a schema that falls behind the routes fails the tests instead of misleading clients.
 */
export function replySerializer(options: { check: boolean }): FastifySerializerCompiler<unknown> {
  return ({ schema, method, url }) => {
    if (!options.check || !(schema instanceof z.ZodType)) return stringify;
    const route = `${method} ${url}`;
    return (data: unknown) => {
      const json = stringify(data);
      const sent = JSON.parse(json) as unknown;
      const parsed = schema.safeParse(sent);
      if (!parsed.success) throw new ReplyShapeError(route, z.prettifyError(parsed.error));
      const [before, after] = [canonical(sent), canonical(parsed.data)];
      if (before !== after) throw new ReplyShapeError(route, `${before.slice(0, 400)} would become ${after.slice(0, 400)}`);
      return json;
    };
  };
}
