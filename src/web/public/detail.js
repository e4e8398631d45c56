// The task detail dialog: every field, the full log, and the actions a person may take on the task.
import { byId, fullTime, h, refreshClocks } from './dom.js';
import { FINAL } from './state.js';
import { statusTitle } from './board.js';

function section(title, ...body) {
  return h('section', { class: 'detail-section' }, h('h3', null, title), ...body);
}

/** Only an https GitHub pull request or GitLab merge request link becomes a link; any agent may send any result. */
const PR_URL = /^https:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9_.~/-]+\/(?:pull\/\d+|-\/merge_requests\/\d+)$/;
const count = (n) => (Number.isSafeInteger(n) && n >= 0 ? n : null);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What `athena work --repo` reported: branch, commits, +/- lines, PR link (text nodes only). */
function workSection(result) {
  if (!result || typeof result !== 'object' || Array.isArray(result)) return null;
  const branch = typeof result.branch === 'string' ? result.branch : null;
  const prUrl = typeof result.pr_url === 'string' && PR_URL.test(result.pr_url) ? result.pr_url : null;
  if (!branch && !prUrl) return null;
  const commits = Array.isArray(result.commits) ? result.commits : [];
  const files = count(result.files_changed);
  const changes = [
    Array.isArray(result.commits) ? plural(commits.length, 'commit') : null,
    files !== null ? plural(files, 'file') : null,
    count(result.insertions) !== null || count(result.deletions) !== null ? `+${count(result.insertions) ?? 0} −${count(result.deletions) ?? 0}` : null,
  ].filter(Boolean).join(', ');
  return section(
    'Work',
    h('dl', { class: 'facts', id: 'detail-work' },
      branch ? fact('Branch', h('code', null, branch), typeof result.base === 'string' ? ` from ${result.base}` : null) : null,
      changes ? fact('Changes', changes) : null,
      prUrl ? fact('Pull request', h('a', { href: prUrl, target: '_blank', rel: 'noopener noreferrer' }, prUrl)) : null,
    ),
    commits.length
      ? h('ul', { class: 'commits' },
          commits.slice(0, 20).map((c) => h('li', null, h('code', null, typeof c?.id === 'string' ? c.id.slice(0, 8) : '?'), ' ', typeof c?.subject === 'string' ? c.subject : '')),
        )
      : null,
  );
}

function fact(name, ...value) {
  return [h('dt', null, name), h('dd', null, ...(value.length && value.some((v) => v !== null && v !== '') ? value : ['—']))];
}

/** `"12, 14"` → [12, 14] */
const idsOf = (text) => text.split(/[\s,#]+/).filter(Boolean).map(Number);
/** An ISO time as a datetime-local value (the browser's local time), and back. */
const localInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** What the live output pane keeps (characters): the server keeps the newest OUTPUT_MAX_BYTES anyway. */
const PANE_MAX_CHARS = 1024 * 1024;
const utf8Length = (text) => new TextEncoder().encode(text).length;

/** `waiting(task)`: why a task waits ([{ kind, text }], see waiting.js), shown for pending and blocked tasks. */
export function createDetail({ api, toast, who, waiting = () => [], canReview = () => true }) {
  const dialog = byId('detail');
  let openId = null;
  /**
   * The open task's live output: one <pre> kept across redraws (text only, never HTML), the run it
   * shows, and the byte offset its text ends at, so output events are appended once and in order.
   */
  let pane = null;
  let refreshTimer = null;
  let loadSeq = 0;
  /** The read of the open task on its way (aborted when a newer one starts or the task is being deleted). */
  let reading = null;
  /** The id being deleted from this detail: no read of it starts until the delete has answered. */
  let deleting = null;
  /** { taskId, timer } while the first click on "Cancel task" waits for the second. */
  let cancelArmed = null;
  /** { taskId, force, timer } while the first click on "Delete" waits for the second. */
  let deleteArmed = null;
  /** The task being edited in place (its form survives live redraws only while open). */
  let editing = null;

  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close(); // a click on the backdrop
  });
  dialog.addEventListener('close', () => {
    openId = null;
    pane = null;
    clearTimeout(refreshTimer); // a redraw queued by an event must not outlive the dialog
  });

  /** Says the open task is gone instead of showing it. */
  function showGone(id) {
    dialog.replaceChildren(closeBar(`Task #${id}`), h('p', { class: 'muted pad' }, 'This task no longer exists (deleted or purged).'));
  }

  /** Stops reading the open task: a queued re-read is dropped, one on its way is aborted and its answer ignored. */
  function stopReading() {
    loadSeq++;
    clearTimeout(refreshTimer);
    reading?.abort();
    reading = null;
  }

  async function load() {
    const id = openId;
    if (id === null || id === deleting) return;
    const seq = ++loadSeq;
    reading?.abort();
    const ctrl = new AbortController();
    reading = ctrl;
    try {
      const [data, { comments }] = await Promise.all([api.get(`api/tasks/${id}`, ctrl.signal), api.get(`api/tasks/${id}/comments`, ctrl.signal)]);
      if (seq === loadSeq && id === openId) render(data.task, data.logs, comments);
    } catch (err) {
      if (seq !== loadSeq || err.code === 'ABORTED') return;
      if (err.status === 404) {
        showGone(id);
      } else toast(err.message, 'error');
    }
  }

  function newPane(taskId) {
    return { taskId, attempt: null, end: 0, loading: null, waiting: [], pre: h('pre', { class: 'output-pane', id: 'detail-output', 'aria-live': 'off' }) };
  }

  /** Appends at the bottom; follows the end only when the reader was already there. */
  function appendToPane(text) {
    const pre = pane.pre;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 24;
    let all = pre.textContent + text;
    if (all.length > PANE_MAX_CHARS) all = all.slice(all.length - PANE_MAX_CHARS);
    pre.textContent = all;
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  /** Reads the run's output from the server (all of it, or from where the pane ends). */
  function loadOutput(attempt, from) {
    const current = pane;
    const path = `api/tasks/${current.taskId}/output${attempt ? `?attempt=${attempt}&since=${from}` : ''}`;
    current.loading = api
      .text(path)
      .then(({ body, headers }) => {
        if (pane !== current) return;
        const run = Number(headers.get('x-output-attempt'));
        if (run !== current.attempt) {
          current.attempt = run;
          current.pre.textContent = '';
        }
        appendToPane(body);
        current.end = Number(headers.get('x-output-end'));
      })
      .catch((err) => {
        if (err.status !== 404) toast(err.message, 'error');
      })
      .finally(() => {
        if (pane !== current) return;
        current.loading = null;
        const waiting = current.waiting.splice(0);
        for (const chunk of waiting) applyOutput(chunk);
      });
  }

  function applyOutput(chunk) {
    if (pane.loading) {
      pane.waiting.push(chunk);
      return;
    }
    if (chunk.attempt !== pane.attempt) return loadOutput(chunk.attempt, 0);
    const length = utf8Length(chunk.text);
    if (chunk.offset + length <= pane.end) return; // already shown
    if (chunk.offset > pane.end) return loadOutput(chunk.attempt, pane.end); // missed some: read the gap
    appendToPane(chunk.offset === pane.end ? chunk.text : new TextDecoder().decode(new TextEncoder().encode(chunk.text).subarray(pane.end - chunk.offset)));
    pane.end = chunk.offset + length;
  }

  /** Runs an action, reports the outcome, and redraws the dialog from the server's answer. */
  async function act(label, fn) {
    try {
      await fn();
      toast(label);
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  function closeBar(title, status) {
    return h(
      'header',
      { class: 'detail-head' },
      h('h2', null, title),
      status ? h('span', { class: `badge s-${status}` }, statusTitle(status)) : null,
      h('button', { type: 'button', class: 'ghost close', 'aria-label': 'Close', onclick: () => dialog.close() }, '×'),
    );
  }

  function actions(task) {
    const out = [];
    if (!FINAL.has(task.status)) {
      const select = h(
        'select',
        { id: 'detail-priority', 'aria-label': 'Priority' },
        ['high', 'medium', 'low'].map((p) => h('option', { value: p, selected: p === task.priority }, p)),
      );
      select.addEventListener('change', () =>
        act(`Priority of #${task.id} set to ${select.value}`, () => api.patch(`api/tasks/${task.id}`, { priority: select.value, ...who() })),
      );
      out.push(h('label', { class: 'inline' }, 'Priority ', select));

      // Two clicks to cancel: a stray tap on a phone should not end someone's task. The armed
      // state lives outside the button, which a live redraw of the dialog replaces.
      const armed = cancelArmed?.taskId === task.id;
      const cancel = h('button', { type: 'button', class: 'danger', id: 'detail-cancel' }, armed ? 'Click again to cancel' : 'Cancel task');
      cancel.addEventListener('click', () => {
        if (cancelArmed?.taskId !== task.id) {
          clearTimeout(cancelArmed?.timer);
          cancel.textContent = 'Click again to cancel';
          const timer = setTimeout(() => {
            cancelArmed = null;
            if (cancel.isConnected) cancel.textContent = 'Cancel task';
          }, 4000);
          cancelArmed = { taskId: task.id, timer };
          return;
        }
        clearTimeout(cancelArmed.timer);
        cancelArmed = null;
        act(`Task #${task.id} cancelled`, () => api.post(`api/tasks/${task.id}/cancel`, { ...who() }));
      });
      out.push(cancel);
      out.push(h('button', { type: 'button', id: 'detail-edit', onclick: () => { editing = task.id; load(); } }, 'Edit'));
    }
    if (task.status === 'failed') {
      out.push(
        h('button', { type: 'button', class: 'primary', id: 'detail-retry', onclick: () => act(`Task #${task.id} is pending again`, () => api.post(`api/tasks/${task.id}/retry`, { ...who() })) }, 'Retry'),
      );
    }
    if (FINAL.has(task.status)) {
      out.push(h('button', { type: 'button', id: 'detail-reopen', onclick: () => act(`Task #${task.id} reopened`, () => api.post(`api/tasks/${task.id}/reopen`, { ...who() })) }, 'Reopen'));
    }
    out.push(deleteButton(task));
    return out.length ? h('div', { class: 'detail-actions' }, out) : null;
  }

  /**
   * Two clicks to delete; when the server says an agent holds it or others depend on it, a third
   * click deletes with force (the agent is stopped, dependants are blocked), after saying so.
   */
  function deleteButton(task) {
    const armed = deleteArmed?.taskId === task.id ? deleteArmed : null;
    const label = armed ? (armed.force ? `Click again to force: ${armed.reason}` : 'Click again to delete') : 'Delete';
    const button = h('button', { type: 'button', class: 'danger', id: 'detail-delete' }, label);
    const arm = (force, reason) => {
      clearTimeout(deleteArmed?.timer);
      const timer = setTimeout(() => {
        deleteArmed = null;
        if (button.isConnected) button.textContent = 'Delete';
      }, 6000);
      deleteArmed = { taskId: task.id, force, reason, timer };
      button.textContent = force ? `Click again to force: ${reason}` : 'Click again to delete';
    };
    button.addEventListener('click', async () => {
      if (deleteArmed?.taskId !== task.id) return arm(false);
      const force = deleteArmed.force;
      clearTimeout(deleteArmed.timer);
      deleteArmed = null;
      const by = who().by;
      // No read of this task may reach the server after the delete (it would answer 404): stop them first.
      stopReading();
      deleting = task.id;
      try {
        await api.delete(`api/tasks/${task.id}?${new URLSearchParams({ ...(force ? { force: 'true' } : {}), ...(by ? { by } : {}) })}`);
        toast(`Task #${task.id} deleted`);
        dialog.close();
      } catch (err) {
        if (!force && (err.code === 'TASK_HELD' || err.code === 'HAS_DEPENDANTS')) return arm(true, err.message);
        toast(err.message, 'error');
      } finally {
        if (deleting === task.id) deleting = null;
      }
    });
    return button;
  }

  /** Edit in place: every field a task that has not finished may change. */
  function editForm(task) {
    const field = (label, input) => h('label', { class: 'edit-field' }, label, input);
    const description = h('textarea', { id: 'edit-description', rows: '4', maxlength: '10000', required: true });
    description.value = task.description;
    const project = h('input', { id: 'edit-project', maxlength: '200', value: task.project ?? '' });
    const labels = h('input', { id: 'edit-labels', value: task.labels.join(', ') });
    const depends = h('input', { id: 'edit-depends', value: task.depends_on.join(', '), placeholder: 'task ids' });
    const start = h('input', { id: 'edit-start', type: 'datetime-local', value: localInput(task.run_after) });
    const assignee = h('input', { id: 'edit-assignee', maxlength: '200', value: task.assignee ?? '' });
    const notes = h('textarea', { id: 'edit-notes', rows: '2', maxlength: '20000' });
    notes.value = task.notes ?? '';
    const held = task.status === 'in_progress' || task.status === 'needs_input';
    const form = h(
      'form',
      { class: 'edit-form', id: 'edit-form' },
      field('Description', description),
      field('Project', project),
      field('Labels', labels),
      held ? null : field('Depends on', depends),
      field('Start after', start),
      field('Assignee', assignee),
      field('Notes', notes),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'ghost', onclick: () => { editing = null; load(); } }, 'Discard'),
        h('button', { type: 'submit', class: 'primary', id: 'edit-save' }, 'Save'),
      ),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = {
        description: description.value.trim(),
        project: project.value.trim() || null,
        labels: labels.value.split(/[\s,]+/).filter(Boolean),
        run_after: start.value ? new Date(start.value).toISOString() : null,
        assignee: assignee.value.trim() || null,
        notes: notes.value.trim() || null,
        ...who(),
      };
      if (!held) body.depends_on = idsOf(depends.value);
      act(`Task #${task.id} saved`, async () => {
        const res = await api.patch(`api/tasks/${task.id}`, body);
        editing = null;
        for (const w of res.warnings ?? []) toast(w, 'error');
      });
    });
    return form;
  }

  /** Accept, or send the work back with feedback for its agent. */
  function reviewForm(task) {
    const text = h('textarea', { id: 'detail-feedback', rows: '3', maxlength: '20000', placeholder: 'What should change? (needed to request changes)' });
    const accept = h('button', { type: 'button', class: 'primary', id: 'detail-accept' }, 'Accept');
    const changes = h('button', { type: 'submit', id: 'detail-changes' }, 'Request changes');
    const form = h('form', { class: 'review-form' }, text, h('div', { class: 'row-buttons' }, accept, changes));
    accept.addEventListener('click', () => act(`Task #${task.id} accepted`, () => api.post(`api/tasks/${task.id}/review`, { decision: 'accept', ...who() })));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const feedback = text.value.trim();
      if (!feedback) {
        toast('Say what should change first', 'error');
        text.focus();
        return;
      }
      act(`Task #${task.id} sent back with your feedback`, () => api.post(`api/tasks/${task.id}/review`, { decision: 'changes', feedback, ...who() }));
    });
    return form;
  }

  function commentsSection(task, comments) {
    const text = h('textarea', { id: 'detail-comment', rows: '2', maxlength: '2000', placeholder: 'Write a comment (the agent sees it at its next heartbeat)' });
    const form = h('form', { class: 'comment-form' }, text, h('button', { type: 'submit' }, 'Comment'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      act(`Comment added to #${task.id}`, async () => {
        await api.post(`api/tasks/${task.id}/comments`, { body, source: 'dashboard', ...who() });
        text.value = '';
      });
    });
    return section(
      `Comments (${comments.length})`,
      h('ol', { class: 'comments', id: 'detail-comments' },
        comments.map((c) =>
          h('li', null, h('time', { datetime: c.created_at, title: c.created_at }, fullTime(c.created_at)), h('strong', null, c.author), h('span', { class: 'pre' }, c.body)),
        ),
      ),
      form,
    );
  }

  function answerForm(task) {
    const text = h('textarea', { id: 'detail-answer', rows: '3', required: true, maxlength: '20000', placeholder: 'Your answer goes back to the agent' });
    const form = h('form', { class: 'answer-form' }, text, h('button', { type: 'submit', class: 'primary' }, 'Send answer'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const answer = text.value.trim();
      if (!answer) return;
      act(`Answer sent to #${task.id}`, () => api.post(`api/tasks/${task.id}/answer`, { answer, ...who() }));
    });
    return form;
  }

  function whySection(task) {
    const reasons = waiting(task);
    if (reasons.length === 0) return null;
    return section('Why it waits', h('ul', { class: 'waiting', id: 'detail-waiting' }, reasons.map((r) => h('li', { class: `why why-${r.kind}` }, r.text))));
  }

  function render(task, logs, comments) {
    // A redraw (another event on this task) must not eat an answer, feedback, a comment or an edit being typed.
    const typing = dialog.querySelector('#detail-answer') ?? dialog.querySelector('#detail-feedback');
    const draft = typing?.value ?? '';
    const hadFocus = typing !== null && document.activeElement === typing;
    const commentDraft = dialog.querySelector('#detail-comment')?.value ?? '';
    const openEdit = editing === task.id && !FINAL.has(task.status) ? dialog.querySelector('#edit-form') : null;
    // Moving the pane into the redrawn dialog loses its scroll position: keep it.
    const paneScroll = pane?.pre.isConnected ? pane.pre.scrollTop : null;
    const resultText = task.result === null || task.result === undefined ? null : typeof task.result === 'string' ? task.result : JSON.stringify(task.result, null, 2);
    dialog.replaceChildren(
      closeBar(`Task #${task.id}`, task.status),
      h('div', { class: 'detail-body' },
        editing === task.id && !FINAL.has(task.status) ? openEdit ?? editForm(task) : h('p', { class: 'desc-full' }, task.description),
        actions(task),
        task.status === 'needs_input' || task.question
          ? section('Question', h('p', { class: 'pre' }, task.question ?? '—'), task.answer ? h('p', { class: 'pre answer' }, 'Answer: ', task.answer) : null, task.status === 'needs_input' ? answerForm(task) : null)
          : null,
        task.status === 'in_review'
          ? section('Review', canReview() ? reviewForm(task) : h('p', { class: 'muted', id: 'detail-review-wait' }, 'Waiting for a person with an admin or reviewer key to accept it or request changes.'))
          : null,
        whySection(task),
        task.review_feedback ? section('Feedback from review', h('p', { class: 'pre' }, task.review_feedback)) : null,
        h('dl', { class: 'facts' },
          fact('Priority', task.priority),
          fact('Project', task.project),
          fact('Assignee', task.assignee),
          fact('Labels', task.labels.map((l) => h('span', { class: 'chip' }, l))),
          fact('Agent', task.instance_name || task.instance_id),
          fact('Lease', task.lease_expires_at && task.status === 'in_progress' ? h('span', { class: 'lease', dataset: { lease: task.lease_expires_at } }) : null),
          fact('Attempts', `${task.attempts} of ${task.max_attempts} used`),
          fact('Submitted by', task.submitted_by),
          task.schedule_id !== null ? fact('Schedule', `#${task.schedule_id}`) : null,
          fact('Created', fullTime(task.created_at)),
          // A task given back (released, requeued, reopened) is not claimed now, whatever claimed_at keeps.
          fact('Claimed', task.claimed_at && task.status !== 'pending' && task.status !== 'blocked' ? fullTime(task.claimed_at) : null),
          fact('Finished', task.completed_at ? fullTime(task.completed_at) : null),
          fact('Run after', task.run_after ? `${Date.parse(task.run_after) > Date.now() && task.status === 'pending' ? '⏰ ' : ''}${fullTime(task.run_after)}` : null),
          fact('Depends on', task.depends_on.map((d) => `#${d}`).join(', ')),
          task.blocked_reason ? fact('Blocked', task.blocked_reason) : null,
        ),
        task.runs > 0 && pane ? section(`Output${pane.attempt ? ` (attempt ${pane.attempt})` : ''}`, pane.pre) : null,
        task.error ? section('Error', h('pre', { class: 'error-text' }, task.error)) : null,
        task.notes ? section('Notes', h('p', { class: 'pre' }, task.notes)) : null,
        workSection(task.result),
        resultText !== null ? section('Result', h('pre', null, resultText)) : null,
        commentsSection(task, comments),
        section(
          `Log (${logs.length})`,
          h('ol', { class: 'log' },
            logs.map((log) =>
              h('li', null,
                h('time', { datetime: log.timestamp, title: log.timestamp }, fullTime(log.timestamp)),
                h('span', { class: `action a-${log.action}` }, log.action),
                log.instance_id ? h('span', { class: 'muted' }, log.instance_id) : null,
                log.details ? h('span', { class: 'details' }, log.details) : null,
              ),
            ),
          ),
        ),
      ),
    );
    if (pane) pane.pre.scrollTop = paneScroll ?? pane.pre.scrollHeight;
    const answer = dialog.querySelector(`#${typing?.id ?? 'detail-answer'}`);
    if (answer && draft) answer.value = draft;
    if (answer && hadFocus) answer.focus();
    const comment = dialog.querySelector('#detail-comment');
    if (comment && commentDraft) comment.value = commentDraft;
    refreshClocks(dialog);
  }

  return {
    async open(id) {
      openId = id;
      editing = null;
      pane = newPane(id);
      loadOutput(null, 0);
      dialog.replaceChildren(closeBar(`Task #${id}`), h('p', { class: 'muted pad' }, 'Loading…'));
      if (!dialog.open) dialog.showModal();
      await load();
    },
    /** Called for every event: the open task is re-read (coalesced) so its log stays live; a deleted one is said to be gone. */
    changed(id, type) {
      if (!dialog.open || id !== openId || id === deleting) return;
      clearTimeout(refreshTimer);
      if (type === 'deleted') {
        // Nothing to read again: a re-read would only answer 404.
        stopReading();
        showGone(id);
        return;
      }
      refreshTimer = setTimeout(load, 150);
    },
    /** An `output` event from the stream: appended to the open task's pane. */
    output(chunk) {
      if (!dialog.open || !pane || chunk.task_id !== openId) return;
      applyOutput(chunk);
    },
    openId: () => (dialog.open ? openId : null),
  };
}
