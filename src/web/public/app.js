// The dashboard's entry: sign-in, loading the board, the live event stream, filters and actions.
import { createApi, withQuery } from './api.js';
import { byId, h, refreshClocks } from './dom.js';
import { openEventStream } from './stream.js';
import { COLUMNS, RELOADING_EVENTS, applyEvent, createState, mergeLoaded, statusOf } from './state.js';
import { buildBoard, renderBoard, renderCounters, renderInstances, waitingContext } from './board.js';
import { createDetail } from './detail.js';
import { createSchedulesPanel } from './schedules.js';
import { CONTROL_EVENTS, createControls } from './controls.js';
import { unknownDependencies, waitingReasons } from './waiting.js';

const KEY_STORAGE = 'athena.apiKey';
/** The person's name, recorded with every action (kept in the tab, like the key); empty: the key's name. */
const NAME_STORAGE = 'athena.name';
const actorName = () => sessionStorage.getItem(NAME_STORAGE) || '';
/** `{ by }` for a request body, when the person gave a name. */
const who = () => (actorName() ? { by: actorName() } : {});
const PAGE_SIZE = 100;
const FILTER_NAMES = ['q', 'label', 'project', 'agent'];

let state = createState();
let stream = null;
let activeStatus = 'pending';
let signedIn = false;

const getKey = () => sessionStorage.getItem(KEY_STORAGE);
const api = createApi(getKey, () => signOut('The server refused this key. Enter it again.'));
// Review buttons for keys that may decide (admin, reviewer); until the key's role is known (or on a server
// without /api/me) they show, and the server's answer decides.
const canReview = () => !state.me || state.me.role === 'admin' || state.me.role === 'reviewer';
const detail = createDetail({ api, toast, who, canReview, waiting: (task) => waitingReasons(task, waitingContext(state)) });
const schedulesPanel = createSchedulesPanel(api, (err) => toast(`Could not load schedules: ${err.message}`, 'error'));
const controls = createControls({ api, toast, who, canControl: () => state.me?.role === 'admin', reload: () => loadControls() });

// ---------------------------------------------------------------- feedback

function toast(message, kind = 'ok') {
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  byId('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 6000 : 3000);
}

function setConnection(status) {
  const el = byId('conn');
  el.dataset.state = status;
  el.textContent = { connecting: 'connecting…', live: 'live', retrying: 'reconnecting…' }[status] ?? status;
}

// ---------------------------------------------------------------- drawing (batched per frame)

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderBoard(state, activeStatus, openTask);
    loadDependencies();
  });
}

function renderSummary() {
  renderCounters(state, activeStatus, selectStatus);
  renderInstances(state, openTask);
  controls.render(state);
}

function openTask(id) {
  detail.open(id);
}

/** On a phone one column shows at a time; on a wide screen the board scrolls to it. */
function selectStatus(status) {
  activeStatus = status;
  renderSummary();
  renderBoard(state, activeStatus, openTask);
  const column = byId(`col-${status}`);
  if (!column || matchMedia('(max-width: 760px)').matches) return;
  column.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  column.classList.remove('flash');
  void column.offsetWidth; // restart the animation on a second click
  column.classList.add('flash');
}

// ---------------------------------------------------------------- loading

function listUrl(status, cursor) {
  const f = state.filters;
  return withQuery('api/tasks', { status, limit: PAGE_SIZE, q: f.q, label: f.label, project: f.project, instance_id: f.agent, cursor });
}

let loadSeq = 0;
/** Reloads every column (first connect, a stream that could not resume, a filter change). */
async function loadAll() {
  const seq = ++loadSeq;
  const startedAt = state.lastEventId;
  try {
    const pages = await Promise.all(COLUMNS.map((c) => api.get(listUrl(c.status))));
    if (seq !== loadSeq) return; // a newer load (e.g. the next keystroke in search) replaced this one
    COLUMNS.forEach((c, i) => state.cursors.set(c.status, pages[i].next_cursor));
    mergeLoaded(state, pages.flatMap((p) => p.tasks), startedAt, { replace: true });
    scheduleRender();
  } catch (err) {
    if (err.status !== 401) toast(`Could not load tasks: ${err.message}`, 'error');
  }
}

async function loadMore(status) {
  const cursor = state.cursors.get(status);
  if (!cursor) return;
  const startedAt = state.lastEventId;
  try {
    const page = await api.get(listUrl(status, cursor));
    state.cursors.set(status, page.next_cursor);
    mergeLoaded(state, page.tasks, startedAt, { replace: false });
    scheduleRender();
  } catch (err) {
    toast(err.message, 'error');
  }
}

/** Reads of pauses and of limits are numbered: an answer older than one already applied is dropped. */
function readOrder() {
  let issued = 0;
  let applied = 0;
  return {
    next: () => ++issued,
    fresh(seq) {
      if (seq < applied) return false;
      applied = seq;
      return true;
    },
  };
}
const pausesOrder = readOrder();
const limitsOrder = readOrder();

/** Pauses and limits, for the banner, the panel and why cards wait; read at connect and after each change. */
async function loadControls() {
  const pausesSeq = pausesOrder.next();
  const limitsSeq = limitsOrder.next();
  try {
    const [{ pauses }, { limits }] = await Promise.all([api.get('api/queue/pauses'), api.get('api/limits')]);
    state.controls = {
      pauses: pausesOrder.fresh(pausesSeq) ? pauses : state.controls.pauses,
      limits: limitsOrder.fresh(limitsSeq) ? limits : state.controls.limits,
    };
    controls.render(state);
    scheduleRender();
  } catch (err) {
    if (err.status !== 401) toast(`Could not load pauses and limits: ${err.message}`, 'error');
  }
}

async function loadMe() {
  try {
    state.me = await api.get('api/me');
    controls.render(state);
    // A task detail opened before the role was known redraws with the buttons this key may use.
    const open = detail.openId();
    if (open !== null) detail.changed(open);
  } catch {
    // Without it the admin controls stay hidden; the board works as before.
  }
}

/** Dependencies of pending cards that the board has not loaded: their status says whether a card waits on them. */
const loadingDependencies = new Set();
/** id → when reading it last failed (not a 404): tried again after a pause, not on every redraw. */
const failedDependencies = new Map();
const DEPENDENCY_RETRY_MS = 30_000;
async function loadDependencies() {
  const now = Date.now();
  const missing = unknownDependencies(
    [...state.tasks.values()].map((e) => e.task),
    (id) => statusOf(state, id),
  )
    .filter((id) => !loadingDependencies.has(id) && !(now - (failedDependencies.get(id) ?? -Infinity) < DEPENDENCY_RETRY_MS))
    .slice(0, 50);
  if (missing.length === 0) return;
  for (const id of missing) loadingDependencies.add(id);
  let learned = false;
  await Promise.all(
    missing.map(async (id) => {
      try {
        state.related.set(id, (await api.get(`api/tasks/${id}`)).task.status);
        learned = true;
      } catch (err) {
        if (err.status === 404) {
          state.related.set(id, null);
          learned = true;
        } else {
          failedDependencies.set(id, Date.now());
        }
      } finally {
        loadingDependencies.delete(id);
      }
    }),
  );
  if (learned) scheduleRender();
}

let statsTimer = null;
let statsRunning = false;
/** Counters and agents follow events, at most a few times a second however busy the queue is. */
function scheduleStats(delay = 300) {
  if (statsTimer) return;
  statsTimer = setTimeout(async () => {
    statsTimer = null;
    if (statsRunning) return scheduleStats();
    statsRunning = true;
    const limitsSeq = limitsOrder.next();
    try {
      // Limits count held tasks, which every claim and finish changes: read again with the counters
      // (always: a limit set a moment ago may not be known here yet when this read starts).
      const [stats, limits] = await Promise.all([api.get('api/stats'), api.get('api/limits')]);
      state.stats = stats;
      if (limitsOrder.fresh(limitsSeq)) {
        state.controls = { ...state.controls, limits: limits.limits };
        scheduleRender();
      }
      renderSummary();
    } catch (err) {
      if (err.status !== 401) toast(`Could not load counts: ${err.message}`, 'error');
    } finally {
      statsRunning = false;
    }
  }, delay);
}

// ---------------------------------------------------------------- live events

function connect() {
  stream?.stop();
  stream = openEventStream(getKey, {
    onStatus: setConnection,
    onUnauthorized: () => signOut('The server refused this key. Enter it again.'),
    onReady(info) {
      if (typeof info.last_id === 'number' && info.last_id > state.lastEventId) state.lastEventId = info.last_id;
      // Missed events were replayed when resumed; otherwise the view is reloaded as of now.
      if (!info.resumed) loadAll();
      scheduleStats(0);
      loadControls();
    },
    onTask(data, id) {
      if (data.type === 'created' && data.task?.schedule_id != null) schedulesPanel.refresh();
      // A purge or an import names no task: the board is read again.
      if (RELOADING_EVENTS.has(data.type)) loadAll();
      // A pause, resume or limit change names no task: the banner, the panel and the cards follow it.
      if (CONTROL_EVENTS.has(data.type)) loadControls();
      applyEvent(state, data, id);
      scheduleRender();
      scheduleStats();
      if (data.task_id !== null) detail.changed(data.task_id, data.type);
    },
    onOutput: (data) => detail.output(data),
  });
}

// ---------------------------------------------------------------- filters

function readFilters() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTER_NAMES) {
    state.filters[name] = params.get(name) ?? '';
    byId(`f-${name}`).value = state.filters[name];
  }
}

let filterTimer = null;
function filtersChanged() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    for (const name of FILTER_NAMES) state.filters[name] = byId(`f-${name}`).value.trim();
    // Filters live in the address so a filtered board can be bookmarked or shared (never the key).
    const params = new URLSearchParams();
    for (const name of FILTER_NAMES) if (state.filters[name]) params.set(name, state.filters[name]);
    const query = params.toString();
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
    byId('f-clear').hidden = !query;
    scheduleRender();
    loadAll();
  }, 250);
}

for (const name of FILTER_NAMES) {
  byId(`f-${name}`).addEventListener(name === 'agent' ? 'change' : 'input', filtersChanged);
}
byId('f-clear').addEventListener('click', () => {
  for (const name of FILTER_NAMES) byId(`f-${name}`).value = '';
  filtersChanged();
});

// ---------------------------------------------------------------- new task

const newDialog = byId('new-dialog');
byId('new-task').addEventListener('click', () => {
  byId('new-error').textContent = '';
  newDialog.showModal();
  byId('new-description').focus();
});
byId('new-cancel').addEventListener('click', () => newDialog.close());
byId('new-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const description = byId('new-description').value.trim();
  if (!description) return;
  const labels = byId('new-labels').value.split(/[\s,]+/).filter(Boolean);
  const project = byId('new-project').value.trim();
  const dependsOn = byId('new-depends').value.split(/[\s,#]+/).filter(Boolean).map(Number);
  const start = byId('new-start').value;
  const assignee = byId('new-assignee').value.trim();
  const submit = byId('new-submit');
  submit.disabled = true;
  try {
    const body = { description, priority: byId('new-priority').value, labels };
    if (project) body.project = project;
    if (dependsOn.length) body.depends_on = dependsOn;
    // datetime-local is the browser's local time; the API takes an instant.
    if (start) body.run_after = new Date(start).toISOString();
    if (assignee) body.assignee = assignee;
    if (actorName()) body.submitted_by = actorName();
    // Unticked leaves it to the server's REVIEW_REQUIRED_LABELS / _PROJECTS.
    if (byId('new-review').checked) body.review = true;
    const created = await api.post('api/tasks', body);
    newDialog.close();
    byId('new-form').reset();
    toast(`Task #${created.task_id} added`);
  } catch (err) {
    byId('new-error').textContent = err.message;
  } finally {
    submit.disabled = false;
  }
});

async function retryAllFailed() {
  // The filters as shown, even when a change is still in its debounce (a click right after picking an agent).
  const f = Object.fromEntries(FILTER_NAMES.map((name) => [name, byId(`f-${name}`).value.trim()]));
  try {
    const body = {};
    if (f.label) body.label = f.label;
    if (f.project) body.project = f.project;
    if (f.q) body.q = f.q;
    // A board filtered to one agent retries that agent's failed tasks only.
    if (f.agent) body.instance_id = f.agent;
    const { count } = await api.post('api/tasks/retry-failed', { ...body, ...who() });
    toast(count === 1 ? '1 failed task is pending again' : `${count} failed tasks are pending again`);
  } catch (err) {
    toast(err.message, 'error');
  }
}

// ---------------------------------------------------------------- sign-in

function showLogin(message = '') {
  byId('app').hidden = true;
  byId('login').hidden = false;
  byId('login-error').textContent = message;
  byId('login-key').focus();
}

function start() {
  signedIn = true;
  state = createState();
  byId('login').hidden = true;
  byId('app').hidden = false;
  readFilters();
  byId('f-clear').hidden = !FILTER_NAMES.some((n) => state.filters[n]);
  buildBoard({ onMore: loadMore, onRetryAll: retryAllFailed });
  renderSummary();
  renderBoard(state, activeStatus, openTask);
  loadMe();
  connect();
  schedulesPanel.start();
}

function signOut(message = '') {
  sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.removeItem(NAME_STORAGE);
  stream?.stop();
  stream = null;
  schedulesPanel.stop();
  if (byId('detail').open) byId('detail').close();
  signedIn = false;
  showLogin(message);
}

byId('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = byId('login-key').value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  const name = byId('login-name').value.trim();
  if (name) sessionStorage.setItem(NAME_STORAGE, name);
  else sessionStorage.removeItem(NAME_STORAGE);
  byId('login-error').textContent = '';
  try {
    await api.get('api/stats'); // a refused key signs out again with a message
    byId('login-key').value = '';
    start();
  } catch (err) {
    if (err.status !== 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      byId('login-error').textContent = err.message;
    }
  }
});
byId('sign-out').addEventListener('click', () => signOut());

setInterval(() => {
  if (signedIn) refreshClocks();
}, 1000);
// A start time or a review's hold that has passed no longer keeps a card waiting: draw again now and then.
setInterval(() => {
  if (signedIn) scheduleRender();
}, 15_000);

if (getKey()) start();
else showLogin();
