// The typed client of the Athena REST API: `import { AthenaClient } from 'athena/client'`.
export { AthenaClient, DEFAULT_TIMEOUT_MS, fenceFor, type CallOptions, type ClaimNextOptions, type ClientOptions, type NextClaim } from './athena-client.js';
export { AthenaError, NetworkError } from './errors.js';
export { fetchTransport, type HttpRequest, type HttpResponse, type HttpTransport } from './transport.js';
export type * from './types.js';
