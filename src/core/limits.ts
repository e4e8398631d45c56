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
} as const;

export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$/;
