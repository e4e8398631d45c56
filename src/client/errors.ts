// What the client throws: AthenaError when the server refused (its status and `code`), NetworkError when no usable answer came.

/** The server answered with an error: its status, and its `{"error","code"}` body as `message` and `code`. */
export class AthenaError extends Error {
  constructor(
    /** HTTP status; 0 when no answer came (see NetworkError). */
    readonly status: number,
    /** Stable name of the failure: NOT_FOUND, LEASE_MISMATCH, VALIDATION_ERROR, UNAUTHORIZED, NETWORK … */
    readonly code: string,
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = 'AthenaError';
  }
}

/** No answer: connection refused, DNS failure, timeout, cancel. An AthenaError too, so one `catch` sees every failure. */
export class NetworkError extends AthenaError {
  constructor(url: string, reason: string) {
    super(0, 'NETWORK', `cannot reach ${url}: ${reason}`, url);
    this.name = 'NetworkError';
  }
}
