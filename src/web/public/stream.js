// Reads the server's event stream (GET api/events) with fetch, so the key travels in a header, never in a URL.
// Reconnects by itself and sends Last-Event-ID so the server replays what was missed.

const WATCHDOG_MS = 45_000; // three missed heartbeats: the connection is dead even if TCP has not noticed
const MAX_BACKOFF_MS = 15_000;

/**
 * handlers: onTask(data, id), onReady({last_id, resumed, replayed}), onStatus('connecting'|'live'|'retrying'),
 * onUnauthorized(). Returns { stop(), lastId() , reconnect() }.
 */
export function openEventStream(getKey, handlers) {
  let lastId = null;
  let stopped = false;
  let controller = null;
  let retryMs = 1000;
  let failures = 0;

  async function connectOnce() {
    controller = new AbortController();
    const headers = { 'X-API-Key': getKey() ?? '', Accept: 'text/event-stream' };
    if (lastId !== null) headers['Last-Event-ID'] = String(lastId);
    // include=output: live output of running tasks too (shown in the open task's detail).
    const res = await fetch('api/events?include=output', { headers, signal: controller.signal, cache: 'no-store' });
    if (res.status === 401) {
      stopped = true;
      handlers.onUnauthorized();
      return;
    }
    if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);

    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let watchdog = setTimeout(() => controller.abort(), WATCHDOG_MS);
    let pending = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), WATCHDOG_MS);
        pending += value;
        let end;
        while ((end = /\r?\n\r?\n/.exec(pending))) {
          const block = pending.slice(0, end.index);
          pending = pending.slice(end.index + end[0].length);
          dispatch(block);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  function dispatch(block) {
    let type = 'message';
    let id = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && /^\d+$/.test(value)) id = Number(value);
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (data.length === 0) return;
    const payload = JSON.parse(data.join('\n'));
    if (id !== null) lastId = id;
    if (type === 'ready') {
      failures = 0;
      handlers.onStatus('live');
      handlers.onReady(payload);
    } else if (type === 'task') {
      handlers.onTask(payload, id);
    } else if (type === 'output') {
      handlers.onOutput?.(payload);
    }
  }

  (async () => {
    while (!stopped) {
      handlers.onStatus(failures === 0 ? 'connecting' : 'retrying');
      try {
        await connectOnce();
      } catch {
        // Dropped or refused: fall through to the backoff below.
      }
      if (stopped) break;
      failures += 1;
      handlers.onStatus('retrying');
      const delay = Math.min(MAX_BACKOFF_MS, retryMs * 2 ** Math.min(failures - 1, 4));
      await new Promise((resolve) => setTimeout(resolve, delay * (0.75 + Math.random() * 0.5)));
    }
  })();

  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
    lastId: () => lastId,
  };
}
