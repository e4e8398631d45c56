// What the dashboard knows: tasks by id (from list loads and live events), filters, and how columns sort.

export const COLUMNS = [
  { status: 'pending', title: 'Pending', hint: 'in queue order' },
  { status: 'in_progress', title: 'In progress' },
  { status: 'needs_input', title: 'Needs input' },
  { status: 'in_review', title: 'In review' },
  { status: 'blocked', title: 'Blocked' },
  { status: 'completed', title: 'Completed' },
  { status: 'failed', title: 'Failed' },
  { status: 'cancelled', title: 'Cancelled' },
];

export const FINAL = new Set(['completed', 'failed', 'cancelled']);
/** Events that change many tasks without naming them: the board is read again. */
export const RELOADING_EVENTS = new Set(['purged', 'imported']);

/** A pending task that may not start yet (run_after in the future). */
export function scheduledFor(task, now = Date.now()) {
  return task.status === 'pending' && task.run_after && Date.parse(task.run_after) > now ? task.run_after : null;
}
const RANK = { high: 0, medium: 1, low: 2 };

export function createState() {
  return {
    /** id → { task (wire JSON), eventId: the event that set it or the position a list load started at, fromEvent } */
    tasks: new Map(),
    /** status → next_cursor of its column (null: everything is loaded) */
    cursors: new Map(),
    filters: { q: '', label: '', project: '', agent: '' },
    stats: null,
    /** Highest event id seen on the stream. */
    lastEventId: 0,
    /** Pauses and concurrency limits in force (api/queue/pauses, api/limits), for the banner and why a task waits. */
    controls: { pauses: [], limits: [] },
    /** The calling key (api/me): admin controls are shown to admin keys only. */
    me: null,
    /** id → status of tasks the board has not loaded but a card needs (dependencies); null: gone. */
    related: new Map(),
  };
}

/** The same filters the server applies to GET api/tasks, for tasks that arrive as events. */
export function matches(task, filters) {
  if (filters.label && !task.labels.includes(filters.label)) return false;
  if (filters.project && task.project !== filters.project) return false;
  if (filters.agent && task.instance_id !== filters.agent) return false;
  if (filters.q && !task.description.toLowerCase().includes(filters.q.toLowerCase())) return false;
  return true;
}

/** The status of a task the dashboard knows (loaded, announced, or read as a dependency); undefined: unknown, null: gone. */
export function statusOf(state, id) {
  const entry = state.tasks.get(id);
  return entry ? entry.task.status : state.related.get(id);
}

/** Pending in queue order (priority, then age); every other column newest first, as the API lists them. */
export function compareIn(status) {
  if (status === 'pending') return (a, b) => RANK[a.priority] - RANK[b.priority] || a.id - b.id;
  return (a, b) => b.id - a.id;
}

export function tasksIn(state, status) {
  const out = [];
  for (const { task } of state.tasks.values()) if (task.status === status && matches(task, state.filters)) out.push(task);
  return out.sort(compareIn(status));
}

/**
 * Applies one live event. Events of one task come in id order, except that on PostgreSQL a row
 * committed late can arrive after higher ids: an event older than what the card shows is skipped.
 */
export function applyEvent(state, data, id) {
  if (id !== null && id > state.lastEventId) state.lastEventId = id;
  if (data.type === 'deleted' || data.type === 'purged' || !data.task) {
    if (data.task_id !== null) {
      state.tasks.delete(data.task_id);
      if (data.type === 'deleted') state.related.set(data.task_id, null);
    }
    return;
  }
  if (state.related.has(data.task.id)) state.related.set(data.task.id, data.task.status);
  const current = state.tasks.get(data.task.id);
  if (current && id !== null) {
    if (current.fromEvent ? current.eventId > id : Date.parse(data.task.updated_at) < Date.parse(current.task.updated_at)) return;
  }
  state.tasks.set(data.task.id, { task: data.task, eventId: id ?? state.lastEventId, fromEvent: true });
}

/**
 * Merges list results loaded while events kept arriving: a task an event changed after the load
 * started keeps the event's version (a later event will correct it if the list was newer).
 */
export function mergeLoaded(state, loadedTasks, startedAt, { replace }) {
  const next = replace ? new Map() : new Map(state.tasks);
  for (const task of loadedTasks) {
    const current = state.tasks.get(task.id);
    if (current && current.eventId > startedAt) continue;
    next.set(task.id, { task, eventId: startedAt, fromEvent: false });
  }
  if (replace) for (const [id, entry] of state.tasks) if (entry.eventId > startedAt) next.set(id, entry);
  state.tasks = next;
}
