// How the client sends a request: fetch by default; the server's /mcp route and tests may pass their own.
import { NetworkError } from './errors.js';

/** `signal` carries the caller's cancel and the timeout; `timeoutMs` names it in errors. */
export type HttpRequest = { method: string; url: string; headers: Record<string, string>; body?: string; signal: AbortSignal; timeoutMs: number };
export type HttpResponse = { status: number; text: string };
export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

/** Why fetch failed, in words: "connect ECONNREFUSED 127.0.0.1:5051", "no answer within 30s". */
function describeFetchFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  if (e?.name === 'AbortError') return 'request cancelled';
  const cause = e?.cause;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return e?.message ?? String(err);
}

export const fetchTransport: HttpTransport = async ({ method, url, headers, body, signal, timeoutMs }) => {
  try {
    const res = await fetch(url, { method, headers, body, signal });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw new NetworkError(url, describeFetchFailure(err, timeoutMs));
  }
};
