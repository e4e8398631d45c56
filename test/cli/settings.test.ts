// Who the client is and where it talks to: flags, then environment, then defaults.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/cli/settings.js';

describe('resolveSettings', () => {
  it('shows an agent by its instance id when no name is set, so agents on one box stay apart', () => {
    const agents = ['agent-1', 'agent-2'].map((id) => resolveSettings({}, { CLAUDE_INSTANCE: id }).agent);
    expect(agents).toEqual([
      { instanceId: 'agent-1', instanceName: 'agent-1' },
      { instanceId: 'agent-2', instanceName: 'agent-2' },
    ]);
  });

  it('uses CLAUDE_INSTANCE_NAME when set, and --instance over CLAUDE_INSTANCE', () => {
    expect(resolveSettings({}, { CLAUDE_INSTANCE: 'gpu-1', CLAUDE_INSTANCE_NAME: 'GPU box 1' }).agent).toEqual({ instanceId: 'gpu-1', instanceName: 'GPU box 1' });
    expect(resolveSettings({ instance: 'flagged' }, { CLAUDE_INSTANCE: 'gpu-1' }).agent).toEqual({ instanceId: 'flagged', instanceName: 'flagged' });
  });

  it('falls back to the hostname when nothing names the agent', () => {
    expect(resolveSettings({}, {}).agent).toEqual({ instanceId: hostname(), instanceName: hostname() });
  });
});
