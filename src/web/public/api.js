// The REST API from the browser: same origin, the API key in the X-API-Key header, JSON both ways.
import { learnServerClock } from './dom.js';

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `getKey` reads the key at call time; `onUnauthorized` runs when the server refuses it. */
export function createApi(getKey, onUnauthorized) {
  /** `signal` aborts the call: it then throws an ApiError with code ABORTED, which callers ignore. */
  async function request(method, path, body, signal) {
    const headers = { 'X-API-Key': getKey() ?? '', Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      // Relative paths: the dashboard also works behind a proxy that mounts it under a sub-path.
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', signal });
    } catch (err) {
      if (signal?.aborted) throw new ApiError('Aborted', 0, 'ABORTED');
      throw new ApiError('The server cannot be reached', 0, 'NETWORK');
    }
    learnServerClock(res.headers.get('date'));
    const data = await res.json().catch(() => null);
    if (res.status === 401) {
      onUnauthorized();
      throw new ApiError(data?.error ?? 'Invalid API key', 401, 'UNAUTHORIZED');
    }
    if (!res.ok) throw new ApiError(data?.error ?? `The server answered ${res.status}`, res.status, data?.code);
    return data;
  }
  /** A plain-text answer (a task's live output) with its response headers. */
  async function text(path) {
    let res;
    try {
      res = await fetch(path, { headers: { 'X-API-Key': getKey() ?? '', Accept: 'text/plain' }, cache: 'no-store' });
    } catch {
      throw new ApiError('The server cannot be reached', 0, 'NETWORK');
    }
    if (res.status === 401) {
      onUnauthorized();
      throw new ApiError('Invalid API key', 401, 'UNAUTHORIZED');
    }
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      throw new ApiError(data?.error ?? `The server answered ${res.status}`, res.status, data?.code);
    }
    return { body: await res.text(), headers: res.headers };
  }
  return {
    text,
    get: (path, signal) => request('GET', path, undefined, signal),
    post: (path, body = {}) => request('POST', path, body),
    patch: (path, body) => request('PATCH', path, body),
    delete: (path) => request('DELETE', path),
  };
}

/** Builds `path?key=value…`, leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
