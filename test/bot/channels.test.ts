// Which channels the commands accept, and how the refusal names them.
import { describe, expect, it } from 'vitest';
import { allowedChannelsText, channelAllowed } from '../../src/bot/channels.js';
import { customId, parseCustomId } from '../../src/bot/custom-ids.js';

describe('ALLOWED_CHANNELS', () => {
  it('matches channel ids, and threads inside an allowed channel; names never match (they are resolved to ids at start-up)', () => {
    const allowed = new Set(['111111111111111111']);
    expect(channelAllowed(allowed, { id: '111111111111111111' })).toBe(true);
    expect(channelAllowed(allowed, { id: '222222222222222222' })).toBe(false);
    expect(channelAllowed(allowed, { id: '333333333333333333', parentId: '111111111111111111' })).toBe(true);
    expect(channelAllowed(allowed, { id: '333333333333333333', parentId: '222222222222222222' })).toBe(false);
    // A channel in another server named like an allowed one has another id.
    expect(channelAllowed(new Set(['claude-tasks']), { id: '444444444444444444' })).toBe(false);
    expect(channelAllowed('any', { id: '222222222222222222' })).toBe(true);
    expect(channelAllowed(allowed, null)).toBe(false);
  });

  it('names the allowed channels in the refusal', () => {
    expect(allowedChannelsText(['claude-tasks'])).toBe('#claude-tasks');
    expect(allowedChannelsText(['claude-tasks', '#ops', '123456789012345678'])).toBe('#claude-tasks, #ops or <#123456789012345678>');
  });
});

describe('button ids', () => {
  it('round-trip, and ids from elsewhere are not taken for ours', () => {
    expect(parseCustomId(customId({ kind: 'cancel', taskId: 42 }))).toEqual({ kind: 'cancel', taskId: 42 });
    expect(parseCustomId(customId({ kind: 'queue', page: 3 }))).toEqual({ kind: 'queue', page: 3 });
    expect(parseCustomId('athena:delete:1')).toBeNull();
    expect(parseCustomId('athena:cancel:abc')).toBeNull();
    expect(parseCustomId('other:cancel:1')).toBeNull();
  });
});
