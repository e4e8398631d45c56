// The documentation stays true: the generated references match the schemas, and every relative link resolves.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderApiReference } from '../scripts/docs/api-reference.js';
import type { JsonSchema } from '../scripts/docs/openapi.js';
import { GENERATED_DOCS } from '../scripts/docs/generated.js';

describe('generated docs', () => {
  for (const doc of GENERATED_DOCS) {
    it(`${doc.path} is current`, async () => {
      const expected = await doc.render();
      const actual = readFileSync(doc.path, 'utf8');
      expect(actual === expected, `${doc.path} is stale: run npm run docs`).toBe(true);
    }, 60_000);
  }

  it('lists every config variable once', () => {
    const text = readFileSync('docs/configuration.md', 'utf8');
    const names = [...text.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    expect(names).toContain('PG_CONNECT_RETRY_SECONDS');
  });
});

describe('the API reference renderer', () => {
  it('renders response schemas, shared schemas and the auth of each route when the document has them', () => {
    const text = renderApiReference({
      security: [{ bearer: [] }],
      paths: {
        '/api/tasks': {
          post: {
            summary: 'Create a task',
            tags: ['tasks'],
            requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { description: { type: 'string', maxLength: 10 } }, required: ['description'] } } } },
            responses: {
              '201': { description: 'created', content: { 'application/json': { schema: { type: 'object', properties: { task: { $ref: '#/components/schemas/Task' } }, required: ['task'] } } } },
              '422': { description: 'invalid', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
            },
          },
        },
        '/health': { get: { tags: ['health'], security: [], responses: { '200': { description: 'serving' } } } },
      },
      components: {
        schemas: {
          Task: { type: 'object', properties: { id: { type: 'integer', minimum: 1 }, labels: { type: 'array', items: { type: 'string' } } }, required: ['id'] },
          Error: { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string', enum: ['INVALID'] } }, required: ['error', 'code'] },
        },
      },
    });
    expect(text).toContain('#### POST `/api/tasks`');
    expect(text).toContain('| `description` | string (≤ 10 chars) | yes |');
    expect(text).toContain('| 201 | created |');
    expect(text).toContain('201 answers:');
    expect(text).toContain('| `task` | Task | yes |');
    expect(text).toContain('422 answers:\n\nThe Error schema (under Schemas below).');
    expect(text).toContain('#### Task');
    expect(text).toContain('| `id` | integer (≥ 1) | yes |');
    expect(text).toContain('| `labels` | array of string |  |');
    expect(text).toContain('| `code` | string, one of "INVALID" | yes |');
    expect(text).toMatch(/#### GET `\/health`\n\nNo key needed\./);
  });

  it('writes an object many routes answer once, under Schemas, and names it elsewhere', () => {
    const task = { type: 'object', properties: { id: { type: 'integer' }, status: { type: 'string' } }, required: ['id', 'status'] };
    const claimed = { ...task, properties: { ...task.properties, lease_token: { type: 'string' } }, required: [...task.required, 'lease_token'] };
    const error = { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } }, required: ['error', 'code'] };
    const answer = (schema: JsonSchema, description = 'ok') => ({ description, content: { 'application/json': { schema } } });
    const text = renderApiReference(
      {
        paths: {
          '/a': { get: { tags: ['t'], responses: { '200': answer({ type: 'object', properties: { task: { ...task, description: 'the task' } } }), '404': answer({ ...error, description: 'gone' }), '409': answer(error) } } },
          '/b': { get: { tags: ['t'], responses: { '200': answer({ type: 'object', properties: { tasks: { type: 'array', items: task }, next: { ...task, nullable: true } } }) } } },
          '/c': { post: { tags: ['t'], responses: { '200': answer({ type: 'object', properties: { task: claimed } }) } } },
          // The same properties with another shape: written out, not named.
          '/d': { get: { tags: ['t'], responses: { '200': answer({ type: 'object', properties: { task: { ...task, properties: { ...task.properties, id: { type: 'string' } } } } }) } } },
        },
      },
      [
        { name: 'Task', keys: ['id', 'status'] },
        { name: 'ClaimedTask', keys: ['id', 'status', 'lease_token'] },
        { name: 'Error', keys: ['error', 'code'] },
      ],
    );
    expect(text).toContain('| `task` | Task |  | the task |');
    expect(text).toContain('| `tasks` | array of Task |  |');
    expect(text).toContain('| `next` | Task or null |  |');
    expect(text).toContain('404 and 409 answer:\n\nThe Error schema (under Schemas below).');
    expect(text).toContain('| `task` | ClaimedTask |  |');
    expect(text).toContain('#### ClaimedTask\n\nEvery field of Task, and:\n\n| Field | Type | Required | Meaning |\n|---|---|---|---|\n| `lease_token` | string | yes |  |');
    expect(text).toContain('| `task.id` | string | yes |  |');
    // Each shared object's fields appear once: under Schemas (and in the one that differs).
    expect(text.match(/\| `(task\.)?status` \|/g)).toHaveLength(2);
    expect(text.match(/^#### (Task|ClaimedTask|Error)$/gm)).toEqual(['#### Task', '#### Error', '#### ClaimedTask']);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const heading of headings(markdown)) {
    const base = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Lines outside fenced code blocks. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

function headings(markdown: string): string[] {
  return prose(markdown).flatMap((line) => /^#{1,6} (.+)$/.exec(line)?.[1] ?? []);
}

const pages = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

describe('links in README.md and docs/', () => {
  it('finds the pages', () => {
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/agents.md', 'docs/api.md', 'docs/configuration.md']));
  });

  for (const page of pages) {
    it(`${page}: every relative link points at a file and heading that exist`, () => {
      const broken: string[] = [];
      for (const line of prose(readFileSync(page, 'utf8'))) {
        for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
          const [path, anchor] = target.split('#');
          const file = path === '' ? page : normalize(join(dirname(page), decodeURI(path)));
          if (!existsSync(file)) {
            broken.push(`${target}: no file ${file}`);
            continue;
          }
          if (anchor && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
            broken.push(`${target}: no heading #${anchor} in ${file}`);
          }
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
