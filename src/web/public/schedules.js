// The schedules panel: each schedule's expression, what it creates and when it runs next (text nodes only).
import { byId, fullTime, h } from './dom.js';

/** How often the panel is read again besides when a schedule creates a task. */
const REFRESH_MS = 60_000;

function row(s) {
  const next = s.paused ? 'paused' : s.next_run_at ? `next ${fullTime(s.next_run_at)}` : 'ended';
  const later = s.paused ? [] : s.next_runs.slice(1, 3).map(fullTime);
  return h(
    'li',
    { class: `schedule${s.paused ? ' paused' : ''}`, dataset: { scheduleId: s.id } },
    h('div', { class: 'schedule-head' }, h('span', { class: 'chip' }, `#${s.id}`), h('code', { title: s.time_zone }, s.cron)),
    h('div', { class: 'schedule-desc', title: s.description }, s.description.split('\n')[0]),
    h('div', { class: 'instance-meta' }, h('span', { class: 'schedule-next' }, next), later.length ? h('span', { class: 'muted', title: 'then' }, `then ${later.join(', ')}`) : null),
  );
}

/** Reads /api/schedules into the panel now, then every REFRESH_MS while signed in; `refresh()` reads it again. */
export function createSchedulesPanel(api, onError) {
  let timer = null;
  let running = false;
  async function refresh() {
    if (running) return;
    running = true;
    try {
      const { schedules } = await api.get('api/schedules');
      const list = byId('schedules');
      list.replaceChildren(...(schedules.length ? schedules.map(row) : [h('li', { class: 'empty' }, 'No schedules (athena schedule add)')]));
    } catch (err) {
      if (err.status !== 401) onError(err);
    } finally {
      running = false;
    }
  }
  return {
    refresh,
    start() {
      clearInterval(timer);
      timer = setInterval(refresh, REFRESH_MS);
      return refresh();
    },
    stop() {
      clearInterval(timer);
      timer = null;
    },
  };
}
