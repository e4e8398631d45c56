// Which test files run in which lane. `npm test` is the fast lane a developer runs every few minutes
// (both backends, under 5 minutes on a 2-core machine); `npm run test:slow` runs what is slow by nature:
// load across processes and replicas, the deploy checks that drive Ansible and docker-compose, the
// browser, and the reliability suite (test/reliability, its own config). `.ci/run` runs both lanes.

/** Slow by nature, outside test/reliability: run by `npm run test:slow`, never by `npm test`. */
export const SLOW_TESTS = [
  // Ansible and docker-compose runs (about 90 s).
  'test/deploy/**/*.test.ts',
  // Three `athena serve` processes under 32 agents and a killed leader (about 70 s).
  'test/cluster/replicas.test.ts',
  // Replicas and PostgreSQL in network namespaces, the leader's link cut (about 40 s; needs root).
  'test/cluster/netns-failover.test.ts',
  // Four processes racing for 3,000 tasks on one SQLite file.
  'test/store/concurrent-claims.test.ts',
  // Headless Chromium driving the dashboard.
  'test/**/*.browser.test.ts',
  // `athena work` on real git repositories: several workers, worktrees, agents killed mid-run (about 60 s
  // and 35 s on a quiet machine; each test builds repositories and runs many git and node processes).
  'test/cli/work-repo.test.ts',
  'test/cli/work-repo-recovery.test.ts',
  // Every agent preset driven through a fake agent on PATH (about 25 s).
  'test/cli/agent-presets.test.ts',
  // A server killed with SIGKILL under a stream of creates, then restarted (about 20 s).
  'test/e2e/durability.test.ts',
];
