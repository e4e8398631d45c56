export { startFakeDiscord, type FakeDiscord } from './server.js';
export type { FakeDiscordState, InteractionRecord } from './state.js';
export * from './types.js';
export { snowflake } from './util.js';
