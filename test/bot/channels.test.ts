// Which channels the commands accept, and how the refusal names them.
import { describe, expect, it } from 'vitest';
import { allowedChannelsText, channelAllowed } from '../../src/bot/channels.js';
import { customId, parseCustomId } from '../../src/bot/custom-ids.js';

describe('ALLOWED_CHANNELS', () => {
  it('matches names (with or without #, any case), ids, and threads inside an allowed channel', () => {
    expect(channelAllowed(['claude-tasks'], { id: '1', name: 'claude-tasks' })).toBe(true);
    expect(channelAllowed(['#Claude-Tasks'], { id: '1', name: 'claude-tasks' })).toBe(true);
    expect(channelAllowed(['123456789012345678'], { id: '123456789012345678', name: 'ops' })).toBe(true);
    expect(channelAllowed(['claude-tasks'], { id: '2', name: 'general' })).toBe(false);
    expect(channelAllowed(['claude-tasks'], { id: '3', name: '#5 · fix', parentId: '1', parent: { id: '1', name: 'claude-tasks' } })).toBe(true);
    expect(channelAllowed(['claude-tasks'], { id: '3', name: '#5 · fix', parentId: '2', parent: { id: '2', name: 'general' } })).toBe(false);
    expect(channelAllowed(['*'], { id: '2', name: 'general' })).toBe(true);
    expect(channelAllowed(['claude-tasks'], null)).toBe(false);
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
