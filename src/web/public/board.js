// Draws the counters, the columns of task cards and the agents panel from the dashboard state.
import { ago, byId, fullTime, h, refreshClocks } from './dom.js';
import { COLUMNS, scheduledFor, statusOf, tasksIn } from './state.js';
import { waitingReasons } from './waiting.js';

const STATUS_TITLES = Object.fromEntries(COLUMNS.map((c) => [c.status, c.title]));
export const statusTitle = (status) => STATUS_TITLES[status] ?? status;

/** A card is rebuilt only when its task changed: the key is everything the card shows. */
const cardCache = new Map();

function agentName(task) {
  return task.instance_name || task.instance_id;
}

function card(task, onOpen, waitingContext) {
  const later = scheduledFor(task);
  const reasons = waitingReasons(task, waitingContext);
  const why = reasons.map((r) => r.text).join('\n');
  const key = `${task.updated_at}|${task.status}|${task.priority}|${task.attempts}|${task.lease_expires_at}|${later}|${why}`;
  const cached = cardCache.get(task.id);
  if (cached && cached.key === key) return cached.el;

  const meta = [];
  if (task.project) meta.push(h('span', { class: 'chip project', title: 'project' }, task.project));
  for (const label of task.labels) meta.push(h('span', { class: 'chip' }, label));

  const foot = [];
  if (task.status === 'in_progress' || task.status === 'needs_input') {
    foot.push(h('span', { class: 'agent', title: task.instance_id ?? '' }, agentName(task) ?? 'unknown agent'));
  }
  if (later) foot.push(h('span', { class: 'scheduled', title: `not before ${fullTime(later)}` }, `⏰ ${fullTime(later)}`));
  if (task.assignee) foot.push(h('span', { class: 'assignee', title: 'only this agent may claim it' }, `→ ${task.assignee}`));
  if (task.status === 'in_progress' && task.lease_expires_at) foot.push(h('span', { class: 'lease', dataset: { lease: task.lease_expires_at } }));
  // Attempts used (the running one counts; a release gives it back): shown once a task has a history.
  const held = task.status === 'in_progress' || task.status === 'needs_input';
  if (task.status === 'failed' || task.attempts > (held ? 1 : 0)) {
    foot.push(h('span', { class: 'attempts', title: 'attempts used of max_attempts' }, `${task.attempts}/${task.max_attempts} attempts used`));
  }
  foot.push(h('span', { class: 'age', dataset: { ago: task.updated_at } }));

  let extra = null;
  if (task.status === 'needs_input' && task.question) extra = h('p', { class: 'question' }, task.question);
  else if (task.status === 'failed' && task.error) extra = h('p', { class: 'error-text' }, task.error);
  // Why it waits: what keeps a pending task from being claimed (pauses, limits, dependencies…), or why it is blocked.
  const waiting = reasons.length
    ? h('ul', { class: 'waiting', 'aria-label': 'Why it waits' }, reasons.map((r) => h('li', { class: `why why-${r.kind}`, dataset: { kind: r.kind } }, r.text)))
    : null;

  const open = () => onOpen(task.id);
  const el = h(
    'article',
    {
      class: `card prio-${task.priority}`,
      tabindex: '0',
      role: 'button',
      dataset: { taskId: String(task.id) },
      onclick: open,
      onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), open()),
    },
    h('div', { class: 'card-head' }, h('span', { class: 'task-id' }, `#${task.id}`), h('span', { class: `prio prio-${task.priority}` }, task.priority)),
    h('p', { class: 'desc' }, task.description),
    extra,
    waiting,
    meta.length ? h('div', { class: 'chips' }, meta) : null,
    h('div', { class: 'card-foot' }, foot),
  );
  cardCache.set(task.id, { key, el });
  return el;
}

/** Builds the empty columns once; later renders only refill them. */
export function buildBoard(handlers) {
  const board = byId('board');
  board.replaceChildren(
    ...COLUMNS.map((col) =>
      h(
        'section',
        { class: 'column', id: `col-${col.status}`, dataset: { status: col.status }, 'aria-label': col.title },
        h(
          'header',
          { class: 'column-head' },
          h('h2', null, col.title, col.hint ? h('small', null, ` ${col.hint}`) : null),
          h('span', { class: 'count' }),
          col.status === 'failed' ? h('button', { type: 'button', class: 'ghost small retry-all', onclick: handlers.onRetryAll }, 'Retry all') : null,
        ),
        h('div', { class: 'cards' }),
        h('button', { type: 'button', class: 'ghost small more', hidden: true, onclick: () => handlers.onMore(col.status) }, 'Load more'),
      ),
    ),
  );
}

/** What waitingReasons needs, from the dashboard state: pauses, limits and the status of known tasks. */
export function waitingContext(state) {
  return {
    pauses: state.controls.pauses,
    limits: state.controls.limits,
    statusOf: (id) => statusOf(state, id),
    now: Date.now(),
    formatTime: fullTime,
  };
}

export function renderBoard(state, activeStatus, onOpen) {
  const seen = new Set();
  const waiting = waitingContext(state);
  for (const col of COLUMNS) {
    const section = byId(`col-${col.status}`);
    const tasks = tasksIn(state, col.status);
    for (const t of tasks) seen.add(t.id);
    const cards = tasks.length ? tasks.map((t) => card(t, onOpen, waiting)) : [h('p', { class: 'empty' }, 'Nothing here')];
    section.querySelector('.cards').replaceChildren(...cards);
    const more = state.cursors.get(col.status);
    section.querySelector('.count').textContent = `${tasks.length}${more ? '+' : ''}`;
    section.querySelector('.more').hidden = !more;
    section.classList.toggle('active', col.status === activeStatus);
    const retryAll = section.querySelector('.retry-all');
    if (retryAll) retryAll.hidden = tasks.length === 0;
  }
  for (const id of cardCache.keys()) if (!seen.has(id)) cardCache.delete(id);
  refreshClocks(byId('board'));
}

export function renderCounters(state, activeStatus, onSelect) {
  const stats = state.stats ?? {};
  const nav = byId('counters');
  nav.replaceChildren(
    ...COLUMNS.map((col) =>
      h(
        'button',
        { type: 'button', class: `counter s-${col.status}${col.status === activeStatus ? ' active' : ''}`, dataset: { status: col.status }, onclick: () => onSelect(col.status) },
        h('span', { class: 'n' }, String(stats[col.status] ?? 0)),
        h('span', { class: 'label' }, col.title),
      ),
    ),
    h('div', { class: 'counter total' }, h('span', { class: 'n' }, String(stats.total ?? 0)), h('span', { class: 'label' }, 'Total')),
  );
}

export function renderInstances(state, onOpen) {
  const instances = state.stats?.instances ?? [];
  const list = byId('instances');
  if (instances.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, 'No agent has connected yet'));
    return;
  }
  list.replaceChildren(
    ...instances.map((inst) =>
      h(
        'li',
        { class: `instance ${inst.status}` },
        h('span', { class: 'dot', title: inst.status }),
        h(
          'div',
          { class: 'instance-body' },
          h('div', { class: 'instance-name', title: inst.id }, inst.name || inst.id),
          h(
            'div',
            { class: 'instance-meta' },
            h('span', null, inst.status === 'offline' ? 'offline' : inst.status === 'working' ? 'working' : 'idle'),
            inst.current_task_id ? h('button', { type: 'button', class: 'link', onclick: () => onOpen(inst.current_task_id) }, `#${inst.current_task_id}`) : null,
            inst.last_seen ? h('span', { class: 'muted', dataset: { ago: inst.last_seen } }, ago(inst.last_seen)) : null,
          ),
        ),
      ),
    ),
  );
  const agentSelect = byId('f-agent');
  const chosen = agentSelect.value;
  agentSelect.replaceChildren(
    h('option', { value: '' }, 'All agents'),
    ...instances.map((inst) => h('option', { value: inst.id }, inst.name || inst.id)),
  );
  // Keep a filter on an agent that has dropped out of the list.
  if (chosen && !instances.some((i) => i.id === chosen)) agentSelect.append(h('option', { value: chosen }, chosen));
  agentSelect.value = chosen;
}
