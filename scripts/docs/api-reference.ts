// Renders an OpenAPI document as Markdown: each route's parameters, body and responses (docs/api.md).
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from './openapi.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** One cell of a Markdown table: no line breaks, no unescaped pipes. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function refName(ref: string): string {
  return ref.replace(/^#\/components\/schemas\//, '');
}

/** A schema's type in a few words: `integer (1–100)`, `string, one of high / medium / low`, `array of string`. */
export function typeOf(schema: JsonSchema | undefined): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') return schema.nullable === true ? `${refName(schema.$ref)} or null` : refName(schema.$ref);
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  let text: string;
  if (alternatives) {
    text = alternatives.map(typeOf).join(' or ');
  } else if (Array.isArray(schema.enum)) {
    text = `${schema.type ?? 'value'}, one of ${schema.enum.map((v) => JSON.stringify(v)).join(' / ')}`;
  } else if ('const' in schema) {
    text = JSON.stringify(schema.const);
  } else if (schema.type === 'array') {
    text = `array of ${typeOf(schema.items as JsonSchema | undefined)}`;
  } else {
    text = Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'any');
    if (typeof schema.format === 'string') text += ` (${schema.format})`;
    const min = (schema.minimum ?? schema.minLength) as number | undefined;
    const max = (schema.maximum ?? schema.maxLength) as number | undefined;
    const unit = schema.minLength !== undefined || schema.maxLength !== undefined ? ' chars' : '';
    // Zod's "positive" and "safe integer" bounds say nothing a reader needs.
    const shownMax = max !== undefined && max < Number.MAX_SAFE_INTEGER ? max : undefined;
    if (min !== undefined && shownMax !== undefined) text += ` (${schema.exclusiveMinimum === true ? `>${min}` : min}–${shownMax}${unit})`;
    else if (shownMax !== undefined) text += ` (≤ ${shownMax}${unit})`;
    else if (min !== undefined && min > -Number.MAX_SAFE_INTEGER && !(min === 0 && schema.exclusiveMinimum === true)) text += ` (≥ ${min}${unit})`;
  }
  if (schema.nullable === true) text += ' or null';
  return text;
}

/** The fields of an object schema, nested objects and arrays of objects as `a.b` / `a[].b`. */
function fieldRows(schema: JsonSchema, prefix = '', depth = 0): string[] {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows: string[] = [];
  for (const [name, field] of Object.entries(properties)) {
    const description = typeof field.description === 'string' ? field.description : '';
    rows.push(`| \`${prefix}${name}\` | ${cell(typeOf(field))} | ${required.has(name) ? 'yes' : ''} | ${cell(description)} |`);
    if (depth < 2) {
      if (field.type === 'object') rows.push(...fieldRows(field, `${prefix}${name}.`, depth + 1));
      const items = field.items as JsonSchema | undefined;
      if (field.type === 'array' && items?.type === 'object') rows.push(...fieldRows(items, `${prefix}${name}[].`, depth + 1));
    }
  }
  return rows;
}

/** A body schema: a table of its fields when it is an object with properties, else its type. */
function renderSchema(schema: JsonSchema | undefined): string[] {
  if (!schema) return [];
  if (typeof schema.$ref === 'string') return [`The ${refName(schema.$ref)} schema (under Schemas below).`, ''];
  const rows = fieldRows(schema);
  if (rows.length === 0) return [`A ${typeOf(schema)}.`, ''];
  return ['| Field | Type | Required | Meaning |', '|---|---|---|---|', ...rows, ''];
}

function jsonSchemaOf(content: Record<string, { schema?: JsonSchema }> | undefined): JsonSchema | undefined {
  if (!content) return undefined;
  return (content['application/json'] ?? Object.values(content)[0])?.schema;
}

function renderOperation(method: string, path: string, op: OpenApiOperation, secured: boolean): string[] {
  const out = [`#### ${method.toUpperCase()} \`${path}\``, ''];
  if (op.summary) out.push(`${op.summary}.`.replace(/\.\.$/, '.'), '');
  if (op.description) out.push(op.description.trim(), '');
  const open = Array.isArray(op.security) && op.security.length === 0;
  out.push(open || !secured ? 'No key needed.' : 'Needs an API key (`X-API-Key` or `Authorization: Bearer`).', '');
  const parameters = op.parameters ?? [];
  if (parameters.length > 0) {
    out.push('| Parameter | In | Type | Required | Meaning |', '|---|---|---|---|---|');
    for (const p of parameters) {
      out.push(`| \`${p.name}\` | ${p.in} | ${cell(typeOf(p.schema))} | ${p.required ? 'yes' : ''} | ${cell(p.description ?? '')} |`);
    }
    out.push('');
  }
  const body = jsonSchemaOf(op.requestBody?.content);
  if (body) {
    out.push(`Body${op.requestBody?.required ? '' : ' (optional)'}${op.requestBody?.description ? `: ${op.requestBody.description}` : ''}:`, '');
    out.push(...renderSchema(body));
  }
  const responses = Object.entries(op.responses ?? {});
  if (responses.length > 0) {
    out.push('| Status | Meaning |', '|---|---|');
    for (const [status, response] of responses) out.push(`| ${status} | ${cell(response.description ?? '')} |`);
    out.push('');
    // Answers that are one shared schema are named once for all their statuses (the errors, mostly).
    const byRef = new Map<string, string[]>();
    for (const [status, response] of responses) {
      const ref = jsonSchemaOf(response.content)?.$ref;
      if (typeof ref === 'string') byRef.set(ref, [...(byRef.get(ref) ?? []), status]);
    }
    for (const [status, response] of responses) {
      const schema = jsonSchemaOf(response.content);
      if (!schema) continue;
      if (typeof schema.$ref === 'string') {
        const statuses = byRef.get(schema.$ref)!;
        if (statuses[0] !== status) continue;
        const listed = statuses.length === 1 ? status : `${statuses.slice(0, -1).join(', ')} and ${statuses.at(-1)}`;
        out.push(`${listed} answer${statuses.length === 1 ? 's' : ''}:`, '', ...renderSchema(schema));
        continue;
      }
      out.push(`${status} answers:`, '', ...renderSchema(schema));
    }
  }
  return out;
}

/** `schema` has every property of `base`, the same at each, and more. */
function extendsSchema(schema: JsonSchema, base: JsonSchema): boolean {
  const own = schema.properties as Record<string, unknown> | undefined;
  const theirs = base.properties as Record<string, unknown> | undefined;
  if (!own || !theirs || Object.keys(own).length <= Object.keys(theirs).length) return false;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const baseRequired = new Set((base.required as string[] | undefined) ?? []);
  return Object.entries(theirs).every(([k, v]) => JSON.stringify(own[k]) === JSON.stringify(v) && required.has(k) === baseRequired.has(k));
}

/** An object schema the reference shows once, under Schemas, and names wherever it appears. */
export type SharedSchema = { name: string; keys: readonly string[] };

/** A schema's shape, without what each place says of it (its description, whether null is allowed). */
function shapeOf(schema: JsonSchema): string {
  const { description: _d, nullable: _n, ...shape } = schema;
  return JSON.stringify(shape);
}

/**
 * The document with every object matching a shared schema (same properties, the same shape at each
 * place) replaced by a reference to it; the first one found becomes the schema. An object with the
 * same properties but another shape somewhere stays written out, so no difference is hidden.
 */
export function withSharedSchemas(doc: OpenApiDocument, shared: readonly SharedSchema[]): OpenApiDocument {
  const byKeys = new Map(shared.map((s) => [[...s.keys].sort().join(','), s.name]));
  const found = new Map<string, { schema: JsonSchema; shape: string }>();
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (!value || typeof value !== 'object') return value;
    const schema = value as JsonSchema;
    const properties = schema.type === 'object' ? (schema.properties as Record<string, unknown> | undefined) : undefined;
    const name = properties ? byKeys.get(Object.keys(properties).sort().join(',')) : undefined;
    if (name) {
      const shape = shapeOf(schema);
      if (!found.has(name)) found.set(name, { schema: { ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'description' && k !== 'nullable')) }, shape });
      if (found.get(name)!.shape === shape) {
        const ref: JsonSchema = { $ref: `#/components/schemas/${name}` };
        if (typeof schema.description === 'string') ref.description = schema.description;
        if (schema.nullable === true) ref.nullable = true;
        return ref;
      }
    }
    return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, visit(v)]));
  };
  const paths = visit(doc.paths ?? {}) as OpenApiDocument['paths'];
  const schemas = { ...Object.fromEntries([...found].map(([name, { schema }]) => [name, schema])), ...(doc.components?.schemas ?? {}) };
  return { ...doc, paths, components: { ...doc.components, schemas } };
}

/**
 * The reference part of docs/api.md: routes grouped by tag, in the document's order, then the
 * schemas. Objects matching one of `shared` are written once, under Schemas, and named elsewhere.
 */
export function renderApiReference(source: OpenApiDocument, shared: readonly SharedSchema[] = []): string {
  const doc = withSharedSchemas(source, shared);
  const secured = (doc.security?.length ?? 0) > 0;
  const groups = new Map<string, string[]>();
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = operations[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push(...renderOperation(method, path, op, secured));
    }
  }
  const out = ['## Reference', '', 'Every route the server answers, from its OpenAPI document, grouped by tag. Objects many routes answer (a task, an error…) are written once, under [Schemas](#schemas), and named where they appear.', ''];
  out.push(...[...groups.keys()].map((tag) => `- [${tag}](#${tag.toLowerCase().replace(/[^\w -]/g, '').replace(/ /g, '-')})`), '');
  for (const [tag, lines] of groups) out.push(`### ${tag}`, '', ...lines);
  const schemas = Object.entries(doc.components?.schemas ?? {});
  if (schemas.length > 0) {
    out.push('### Schemas', '');
    for (const [name, schema] of schemas) {
      // A schema that extends another (ClaimedTask: a Task and its lease token) lists only what it adds.
      const base = schemas.find(([other, s]) => other !== name && extendsSchema(schema, s));
      if (base) {
        const extra = Object.keys(schema.properties as object).filter((k) => !(k in (base[1].properties as object)));
        const added = { ...schema, properties: Object.fromEntries(extra.map((k) => [k, (schema.properties as Record<string, unknown>)[k]])) };
        out.push(`#### ${name}`, '', `Every field of ${base[0]}, and:`, '', ...renderSchema(added));
      } else {
        out.push(`#### ${name}`, '', ...renderSchema(schema));
      }
    }
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
