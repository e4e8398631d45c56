// What each key role may call, in one table. Admin may call everything; the rest is listed here.
import type { Principal } from './auth.js';

const route = (method: string, url: string) => `${method} ${url}`;

/** Calls an agent makes on its own work; they act as the key's instance (see AGENT_IDENTITY_ROUTES). */
const AGENT_WORK = [
  route('POST', '/api/tasks/claim-next'),
  route('POST', '/api/tasks/:id/claim'),
  route('POST', '/api/tasks/:id/heartbeat'),
  route('POST', '/api/tasks/:id/complete'),
  route('POST', '/api/tasks/:id/fail'),
  route('POST', '/api/tasks/:id/release'),
  route('POST', '/api/tasks/:id/ask'),
  // A restarted agent gives back what its previous process held: only its own tasks (the key's instance).
  route('POST', '/api/tasks/requeue-held'),
];

/** Writes an agent key may make: its own work, its live output (fenced by the lease token), and creating tasks (agents spawn subtasks). */
// Comments too: the route lets an agent comment only on a task it holds.
const AGENT_WRITES = new Set([...AGENT_WORK, route('POST', '/api/tasks/:id/output'), route('POST', '/api/tasks'), route('POST', '/api/tasks/:id/comments')]);

/** What a reviewer key may write: decide on tasks in in_review (a person, named by the key: it cannot pass another `by`). */
const REVIEWER_WRITES = new Set([route('POST', '/api/tasks/:id/review')]);

/** Routes whose body names the acting agent (`instance_id`): for an agent key it must be the key's. */
export const AGENT_IDENTITY_ROUTES = new Set(AGENT_WORK);

/** Reads that expose secrets (lease tokens in an export, the key list) or where events go (webhooks): admin only. */
const ADMIN_READS = new Set(
  ['/api/export', '/api/keys', '/api/webhooks', '/api/webhooks/:id/deliveries'].flatMap((url) => [route('GET', url), route('HEAD', url)]),
);

/** MCP is a transport: each tool call is re-checked as a REST call under the same key. */
const ANY_ROLE = new Set([route('POST', '/mcp'), route('GET', '/mcp'), route('DELETE', '/mcp')]);

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Whether this principal may call this route. Routes not listed are admin-only for writes and open to
 * every role for reads, so a new write route is refused to agents and readers until it is listed here.
 */
export function allows(principal: Principal, method: string, url: string | undefined): boolean {
  if (principal.role === 'admin' || url === undefined) return true;
  const key = route(method, url);
  if (ANY_ROLE.has(key)) return true;
  if (READ_METHODS.has(method)) return !ADMIN_READS.has(key);
  if (principal.role === 'reviewer') return REVIEWER_WRITES.has(key);
  return principal.role === 'agent' && AGENT_WRITES.has(key);
}
