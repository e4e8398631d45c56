/**
 * A subset of Discord's server-side payload validation, so tests catch payloads the real API
 * would reject (over-long content, too many embeds/rows/choices, empty messages, ...).
 * Errors use Discord's format: 400 `{ code: 50035, message: 'Invalid Form Body', errors }`.
 */
import type { JsonObject } from './types.js';

export interface ApiError {
  status: number;
  body: JsonObject;
}

type Path = Array<string | number>;

class Collector {
  readonly errors: JsonObject = {};
  count = 0;

  add(path: Path, code: string, message: string): void {
    let node = this.errors;
    for (const key of path) {
      const k = String(key);
      node[k] ??= {};
      node = node[k];
    }
    (node._errors ??= []).push({ code, message });
    this.count++;
  }

  maxLen(path: Path, value: unknown, max: number, min = 0): void {
    if (value === undefined || value === null) return;
    const len = String(value).length;
    if (len > max) this.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
    else if (len < min) this.add(path, 'BASE_TYPE_MIN_LENGTH', `Must be ${min} or more in length.`);
  }

  result(): ApiError | null {
    return this.count === 0 ? null : { status: 400, body: { code: 50035, message: 'Invalid Form Body', errors: this.errors } };
  }
}

const IS_COMPONENTS_V2 = 1 << 15;

export function validateMessage(body: JsonObject | null | undefined, opts: { requireContent: boolean; fileCount?: number }): ApiError | null {
  const b = body ?? {};
  const flags = Number(b.flags ?? 0);
  const v2 = (flags & IS_COMPONENTS_V2) !== 0;
  const embeds: JsonObject[] = Array.isArray(b.embeds) ? b.embeds : [];
  const components: JsonObject[] = Array.isArray(b.components) ? b.components : [];
  if (
    opts.requireContent &&
    !v2 &&
    !(typeof b.content === 'string' && b.content.length > 0) &&
    embeds.length === 0 &&
    components.length === 0 &&
    !(opts.fileCount ?? 0) &&
    !(Array.isArray(b.sticker_ids) && b.sticker_ids.length) &&
    !b.poll
  ) {
    return { status: 400, body: { code: 50006, message: 'Cannot send an empty message' } };
  }
  const c = new Collector();
  c.maxLen(['content'], b.content, 2000);
  if (embeds.length > 10) c.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  embeds.forEach((e, i) => {
    c.maxLen(['embeds', i, 'title'], e.title, 256);
    c.maxLen(['embeds', i, 'description'], e.description, 4096);
    c.maxLen(['embeds', i, 'footer', 'text'], e.footer?.text, 2048);
    c.maxLen(['embeds', i, 'author', 'name'], e.author?.name, 256);
    total += len(e.title) + len(e.description) + len(e.footer?.text) + len(e.author?.name);
    const fields: JsonObject[] = Array.isArray(e.fields) ? e.fields : [];
    if (fields.length > 25) c.add(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    fields.forEach((f, j) => {
      c.maxLen(['embeds', i, 'fields', j, 'name'], f.name ?? '', 256, 1);
      c.maxLen(['embeds', i, 'fields', j, 'value'], f.value ?? '', 1024, 1);
      total += len(f.name) + len(f.value);
    });
  });
  if (total > 6000) c.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  if (v2) {
    if (b.content || embeds.length) c.add(['content'], 'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2', 'The \'content\' and \'embeds\' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2');
  } else {
    if (components.length > 5) c.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
    components.forEach((row, i) => {
      if (row.type !== 1) {
        c.add(['components', i, 'type'], 'UNION_TYPE_CHOICES', 'Top-level components must be action rows unless IS_COMPONENTS_V2 is set.');
        return;
      }
      const inner: JsonObject[] = Array.isArray(row.components) ? row.components : [];
      if (inner.length < 1 || inner.length > 5) c.add(['components', i, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
      inner.forEach((comp, j) => validateComponent(c, ['components', i, 'components', j], comp));
    });
  }
  return c.result();
}

function validateComponent(c: Collector, path: Path, comp: JsonObject): void {
  if (comp.type === 2) {
    c.maxLen([...path, 'label'], comp.label, 80);
    if (comp.style === 5) {
      if (!comp.url) c.add([...path, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
    } else if (comp.style !== 6) {
      if (!comp.custom_id) c.add([...path, 'custom_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
      c.maxLen([...path, 'custom_id'], comp.custom_id, 100, 1);
    }
  } else if ([3, 5, 6, 7, 8].includes(comp.type)) {
    c.maxLen([...path, 'custom_id'], comp.custom_id, 100, 1);
    c.maxLen([...path, 'placeholder'], comp.placeholder, 150);
    if (comp.type === 3) {
      const options: JsonObject[] = Array.isArray(comp.options) ? comp.options : [];
      if (options.length < 1 || options.length > 25) c.add([...path, 'options'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 25 in length.');
      options.forEach((o, k) => {
        c.maxLen([...path, 'options', k, 'label'], o.label ?? '', 100, 1);
        c.maxLen([...path, 'options', k, 'value'], o.value ?? '', 100, 1);
      });
    }
  }
}

export function validateChoices(data: JsonObject | null | undefined): ApiError | null {
  const c = new Collector();
  const choices: JsonObject[] = Array.isArray(data?.choices) ? data!.choices : [];
  if (choices.length > 25) c.add(['choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  choices.forEach((ch, i) => {
    c.maxLen(['choices', i, 'name'], ch.name ?? '', 100, 1);
    if (typeof ch.value === 'string') c.maxLen(['choices', i, 'value'], ch.value, 100);
  });
  return c.result();
}

export function validateThreadName(name: unknown): ApiError | null {
  const c = new Collector();
  if (typeof name !== 'string') c.add(['name'], 'BASE_TYPE_REQUIRED', 'This field is required');
  else c.maxLen(['name'], name, 100, 1);
  return c.result();
}

const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

export function validateCommands(commands: unknown): ApiError | null {
  const c = new Collector();
  if (!Array.isArray(commands)) {
    c.add([], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return c.result();
  }
  const seen = new Set<string>();
  (commands as JsonObject[]).forEach((cmd, i) => {
    const type = cmd.type ?? 1;
    const key = `${type}:${cmd.name}`;
    if (seen.has(key)) c.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
    seen.add(key);
    validateCommandShape(c, [i], cmd, type === 1);
  });
  return c.result();
}

export function validateCommand(cmd: JsonObject): ApiError | null {
  const c = new Collector();
  validateCommandShape(c, [], cmd, (cmd.type ?? 1) === 1);
  return c.result();
}

function validateCommandShape(c: Collector, path: Path, cmd: JsonObject, chatInput: boolean): void {
  const name = String(cmd.name ?? '');
  if (chatInput ? !COMMAND_NAME.test(name) || name !== name.toLowerCase() : name.length < 1 || name.length > 32) {
    c.add([...path, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid`);
  }
  if (chatInput) c.maxLen([...path, 'description'], cmd.description ?? '', 100, 1);
  validateOptions(c, [...path, 'options'], cmd.options);
}

function validateOptions(c: Collector, path: Path, options: unknown): void {
  if (!Array.isArray(options)) return;
  if (options.length > 25) c.add(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  let sawOptional = false;
  (options as JsonObject[]).forEach((o, i) => {
    const name = String(o.name ?? '');
    if (!COMMAND_NAME.test(name) || name !== name.toLowerCase()) {
      c.add([...path, i, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    c.maxLen([...path, i, 'description'], o.description ?? '', 100, 1);
    if (o.type !== 1 && o.type !== 2) {
      if (o.required && sawOptional) c.add([...path, i, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
      if (!o.required) sawOptional = true;
    }
    if (Array.isArray(o.choices)) {
      if (o.choices.length > 25) c.add([...path, i, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      if (o.autocomplete && o.choices.length) c.add([...path, i, 'autocomplete'], 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID', 'Autocomplete cannot be set with choices');
    }
    validateOptions(c, [...path, i, 'options'], o.options);
  });
}

function len(v: unknown): number {
  return typeof v === 'string' ? v.length : 0;
}
