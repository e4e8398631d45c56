// Pauses and concurrency limits on the dashboard: the banner over the board, the small panel beside it,
// and the Pause dialog. Pausing and resuming are offered to admin keys only (the server refuses others anyway).
import { ago, byId, fullTime, h } from './dom.js';

/** Events after which pauses and limits are read again at once. */
export const CONTROL_EVENTS = new Set(['queue_paused', 'queue_resumed', 'limit_set', 'limit_removed']);

/** `queue` → "The queue", `label:db` → "Label db", `project:web` → "Project web". */
function scopeTitle(scope) {
  if (scope === 'queue') return 'The queue';
  const colon = scope.indexOf(':');
  return `${scope[0].toUpperCase()}${scope.slice(1, colon)} ${scope.slice(colon + 1)}`;
}

/**
 * handlers: { api, toast, who() → { by } or {}, canControl() → whether this key is an admin, reload() }.
 * Returns { render(state) }.
 */
export function createControls(handlers) {
  const { api, toast } = handlers;

  async function resume(scope, button) {
    button.disabled = true;
    try {
      await api.post('api/queue/resume', { scope, ...handlers.who() });
      toast(`${scopeTitle(scope)} resumed`);
      handlers.reload();
    } catch (err) {
      toast(err.message, 'error');
      button.disabled = false;
    }
  }

  function pauseRow(pause, admin) {
    const resumeButton = admin
      ? h('button', { type: 'button', class: 'small resume', dataset: { scope: pause.scope }, onclick: (e) => resume(pause.scope, e.currentTarget) }, 'Resume')
      : null;
    return h(
      'div',
      { class: 'pause-row', dataset: { scope: pause.scope } },
      h('strong', { class: 'pause-scope' }, `${scopeTitle(pause.scope)} is paused`),
      pause.paused_by ? h('span', { class: 'pause-by' }, `by ${pause.paused_by}`) : null,
      h('span', { class: 'pause-since' }, `since ${fullTime(pause.paused_at)} (`, h('time', { datetime: pause.paused_at, dataset: { ago: pause.paused_at } }, ago(pause.paused_at)), ')'),
      pause.reason ? h('span', { class: 'pause-reason' }, `— ${pause.reason}`) : null,
      resumeButton,
    );
  }

  function renderBanner(state) {
    const banner = byId('pause-banner');
    const pauses = state.controls.pauses;
    banner.hidden = pauses.length === 0;
    banner.replaceChildren(...pauses.map((p) => pauseRow(p, handlers.canControl())));
  }

  function renderPanel(state) {
    const { pauses, limits } = state.controls;
    const list = byId('controls');
    const items = [
      ...pauses.map((p) => h('li', { class: 'control paused', dataset: { scope: p.scope } }, h('span', null, scopeTitle(p.scope)), h('span', { class: 'muted' }, 'paused'))),
      ...limits.map((l) =>
        h(
          'li',
          { class: `control limit${l.held >= l.max ? ' full' : ''}`, dataset: { scope: l.scope }, title: l.set_by ? `set by ${l.set_by}` : '' },
          h('span', null, l.scope),
          h('span', { class: 'held' }, `${l.held}/${l.max} in progress`),
        ),
      ),
    ];
    list.replaceChildren(...(items.length ? items : [h('li', { class: 'empty' }, 'No pause, no limit')]));
    byId('pause-open').hidden = !handlers.canControl();
  }

  // The Pause dialog: the scope (whole queue, one label or one project) and why.
  const dialog = byId('pause-dialog');
  const kind = byId('pause-kind');
  const value = byId('pause-value');
  const syncKind = () => {
    value.disabled = kind.value === 'queue';
    value.required = kind.value !== 'queue';
    value.placeholder = kind.value === 'queue' ? 'the whole queue' : kind.value === 'label' ? 'e.g. db' : 'e.g. web';
  };
  kind.addEventListener('change', syncKind);
  byId('pause-open').addEventListener('click', () => {
    byId('pause-error').textContent = '';
    syncKind();
    dialog.showModal();
    byId('pause-reason').focus();
  });
  byId('pause-cancel').addEventListener('click', () => dialog.close());
  byId('pause-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const scope = kind.value === 'queue' ? 'queue' : `${kind.value}:${value.value.trim()}`;
    const reason = byId('pause-reason').value.trim();
    const submit = byId('pause-submit');
    submit.disabled = true;
    try {
      await api.post('api/queue/pause', { scope, ...(reason ? { reason } : {}), ...handlers.who() });
      dialog.close();
      byId('pause-form').reset();
      toast(`${scopeTitle(scope)} paused`);
      handlers.reload();
    } catch (err) {
      byId('pause-error').textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });

  return {
    render(state) {
      renderBanner(state);
      renderPanel(state);
    },
  };
}
