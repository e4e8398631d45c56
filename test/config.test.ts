// The settings this release added or tightened: a long enough API_KEY, DISCORD_GUILD_ID with a token,
// TRUST_PROXY's forms, and the defaults of the connection limits.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
};

describe('config', () => {
  it('refuses an API_KEY shorter than 24 characters, saying how to make one', () => {
    const [problem] = problems({ API_KEY: 'a' });
    expect(problem).toMatch(/^API_KEY: is 1 characters long; use at least 24/);
    expect(problem).toContain('openssl rand -hex 32');
    expect(problem).toContain("node -e");
    expect(problems({ API_KEY: 'x'.repeat(24) })).toEqual([]);
    // Unset is fine: a key is generated.
    expect(problems({})).toEqual([]);
  });

  it('needs DISCORD_GUILD_ID (digits, one or a list) with DISCORD_TOKEN', () => {
    expect(problems({ DISCORD_TOKEN: 't' })).toEqual([expect.stringMatching(/^DISCORD_GUILD_ID: is required when DISCORD_TOKEN is set/)]);
    expect(problems({ DISCORD_TOKEN: 't', DISCORD_GUILD_ID: 'general' })).toEqual([expect.stringMatching(/^DISCORD_GUILD_ID: expected a Discord server id/)]);
    expect(loadConfig({ DISCORD_TOKEN: 't', DISCORD_GUILD_ID: '123456789012345678,223456789012345678' }).DISCORD_GUILD_ID).toHaveLength(2);
    expect(loadConfig({}).DISCORD_GUILD_ID).toEqual([]);
  });

  it('reads TRUST_PROXY as off, on, or the proxies\' addresses and ranges', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8, ::1' }).TRUST_PROXY).toBe('127.0.0.1,10.0.0.0/8,::1');
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).TRUST_PROXY).toBe('loopback');
    expect(problems({ TRUST_PROXY: '2' })).toEqual([expect.stringMatching(/^TRUST_PROXY: expected true, false, or the proxies' addresses/)]);
    expect(problems({ TRUST_PROXY: 'my-proxy.lan' })).toHaveLength(1);
  });

  it('has sane defaults for the request deadline and the event stream limits', () => {
    expect(loadConfig({})).toMatchObject({
      REQUEST_TIMEOUT_SECONDS: 30,
      EVENT_STREAMS_PER_KEY: 20,
      EVENT_STREAMS_PER_ADDRESS: 50,
      EVENT_STREAMS_MAX: 500,
      EVENT_STREAM_BUFFER_BYTES: 1024 * 1024,
      EVENT_STREAM_STALL_SECONDS: 30,
    });
  });
});
