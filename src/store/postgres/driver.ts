// PostgreSQL driver on pg: a pool for statements and transactions, `?` placeholders numbered,
// BIGINT and COUNT(*) returned as JS numbers, failures mapped to typed errors.
import pg from 'pg';
import { UnavailableError } from '../../errors.js';
import type { Db, DedicatedSession, Queryable, Row, TxOptions } from '../db.js';
import { applyMigrations } from '../migrations.js';
import { toParams } from '../params.js';
import { postgresCapabilities } from './capabilities.js';
import { postgresDialect } from './dialect.js';
import { isRetryable, isUnavailable, mapPgError } from './errors.js';
import { numberPlaceholders } from './placeholders.js';
import { openDedicatedSession } from './sessions.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * pg returns int8 and numeric as strings so no precision is lost; our int8 values are ids and
 * millisecond times, far below 2^53, and the rest of Athena expects numbers (as on SQLite).
 */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** Transactions that hit a serialization failure, a deadlock or a changed stamp (isRetryable) run again this many times in all. */
const TX_ATTEMPTS = 5;

/**
 * Every write transaction runs without JIT compilation. A batch of claims is planned with a LIMIT
 * it learns only when it runs (the agents still claiming), so the planner prices it as if it took a
 * tenth of the pending tasks: past about 100,000 of them the price crosses jit_above_cost, and
 * compiling (80-120 ms) then took a claim that runs in half a millisecond, a fifth of the cycles/s.
 * Set per transaction (SET LOCAL, in BEGIN's own message), so it holds behind a pooler too; reads
 * outside transactions (lists, statistics) keep the server's setting.
 */
const BEGIN = 'BEGIN; SET LOCAL jit TO off';

/** BEGIN with what TxOptions ask of this transaction, in the same message. */
const beginFor = (options: TxOptions): string =>
  [
    BEGIN,
    // A commit that does not wait for the disk (durable false).
    ...(options.durable === false ? ['SET LOCAL synchronous_commit TO OFF'] : []),
    ...(options.genericPlans ? ['SET LOCAL plan_cache_mode TO force_generic_plan'] : []),
  ].join('; ');

/** Distinct statements kept prepared per connection; texts beyond it (long IN lists) run unprepared. */
const MAX_PREPARED = 300;

/**
 * The server lost or refused this connection's prepared statements: a schema change altered a
 * `RETURNING *` (cached plan), or a pooler in front (PgBouncer in transaction mode) moved us to
 * another server connection. The connection is dropped and the transaction runs again.
 */
function isPreparedStatementTrouble(err: unknown): 'stale' | 'unsupported' | null {
  const code = (err as { code?: unknown }).code;
  if (code === '0A000' && /cached plan must not change result type/.test((err as Error).message)) return 'stale';
  if (code === '26000' || code === '42P05') return 'unsupported';
  return null;
}

export type DriverLog = { warn(obj: object, msg: string): void };

export type PostgresOptions = {
  poolSize: number;
  log?: DriverLog;
  /** How long a statement waits for a free pooled connection (or a new one) before 503. */
  connectTimeoutMs?: number;
  /**
   * Pooled statements running longer are cancelled by the server (statement_timeout); one second
   * later pg gives up on a server that has not answered at all and the connection is dropped. 0 or
   * absent: no limit. Migrations run on a connection of their own, without it.
   */
  statementTimeoutMs?: number;
  /** Idle time before TCP keepalive probes start on every connection (default 10 s). */
  keepAliveMs?: number;
};

/** How much longer than the server's statement_timeout pg waits for any answer before it gives up. */
export const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

/** `host:port/database` of a connection string, without user or password, for messages. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const host = decodeURIComponent(parsed.hostname) || parsed.searchParams.get('host') || process.env.PGHOST || 'localhost';
    const port = parsed.port || process.env.PGPORT || '5432';
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || process.env.PGDATABASE || '(default database)';
    return `${host}:${port}/${database}`;
  } catch {
    return 'the PostgreSQL server in DATABASE_URL';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `inTransaction`: the transaction answers for every statement's failure (txOnce), so an answer the
 * body never waits for is not an unhandled rejection.
 */
function queryable(run: (sql: string, params: readonly unknown[]) => Promise<pg.QueryResult>, inTransaction = false): Queryable {
  const answer = <T>(result: Promise<T>): Promise<T> => {
    if (inTransaction) result.catch(() => {});
    return result;
  };
  return {
    all: <T>(sql: string, params: readonly unknown[] = []) => answer(run(sql, params).then((r) => r.rows as T[])),
    get: <T>(sql: string, params: readonly unknown[] = []) => answer(run(sql, params).then((r) => r.rows[0] as T | undefined)),
    run: (sql: string, params: readonly unknown[] = []) => answer(run(sql, params).then((r) => r.rowCount ?? 0)),
    insert: (sql: string, params: readonly unknown[] = []) => answer(run(`${sql} RETURNING id`, params).then((r) => Number(r.rows[0].id))),
  };
}

export class PostgresDb implements Db {
  readonly dialect = postgresDialect;
  readonly capabilities = postgresCapabilities;
  /** `host:port/database`, for messages that must name the server but not the password. */
  readonly target: string;
  private readonly pool: pg.Pool;
  private readonly direct: Queryable;
  private readonly log: DriverLog | undefined;
  private readonly keepAliveMs: number;
  private closed = false;
  /** Prepared statement names by SQL text; off for good once the server shows it cannot keep them. */
  private readonly prepared = new Map<string, string>();
  private preparedCount = 0;
  private preparing = true;

  constructor(
    readonly url: string,
    options: PostgresOptions,
  ) {
    this.target = describeTarget(url);
    this.log = options.log;
    this.keepAliveMs = options.keepAliveMs ?? 10_000;
    const statementTimeoutMs = options.statementTimeoutMs ?? 0;
    this.pool = new pg.Pool({
      ...this.clientConfig(),
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS } : {}),
      // Statements are sent without waiting for the previous answer, so BEGIN travels with a
      // transaction's first statement: one round trip fewer per transition.
      pipeline: true,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle pooled connection that dies (server restart) emits here; without a listener it would crash the process.
    this.pool.on('error', (err) => this.log?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'idle PostgreSQL connection failed'));
    this.direct = queryable((sql, params) => this.query(this.pool, sql, params));
  }

  /** Connection settings shared by the pool and dedicated clients (LISTEN, leader lock). */
  clientConfig(): pg.ClientConfig {
    return { connectionString: this.url, types: typeParsers, keepAlive: true, keepAliveInitialDelayMillis: this.keepAliveMs, application_name: 'athena' };
  }

  /** A session outside the pool, for LISTEN and the leader's advisory lock (see sessions.ts). */
  openSession(): Promise<DedicatedSession> {
    return openDedicatedSession(this.clientConfig());
  }

  private async query(target: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    try {
      if (params.length === 0) return await target.query(numberPlaceholders(sql));
      return await target.query(numberPlaceholders(sql), toParams(params));
    } catch (err) {
      return mapPgError(err);
    }
  }

  all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.direct.run(sql, params);
  }

  insert(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.direct.insert(sql, params);
  }

  /**
   * One pooled connection, BEGIN … COMMIT. READ COMMITTED is enough because every transition
   * checks its state in the UPDATE's WHERE clause (and claims lock with SKIP LOCKED); deadlocks
   * and serialization failures (possible when transactions lock rows in different orders) run
   * the whole function again, which is safe because it only touches the database.
   */
  async tx<T>(fn: (q: Queryable) => Promise<T>, options: TxOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.txOnce(fn, beginFor(options));
      } catch (err) {
        const trouble = isPreparedStatementTrouble(err);
        // Fresh names: every connection prepares the current text again instead of reusing its stale one.
        if (trouble) this.prepared.clear();
        if (trouble === 'unsupported' && this.preparing) {
          this.preparing = false;
          this.log?.warn({ code: (err as { code?: string }).code }, 'the server does not keep prepared statements (a pooler in transaction mode?): running statements unprepared');
        }
        if ((!isRetryable(err) && !trouble) || attempt >= TX_ATTEMPTS) return mapPgError(err);
        await sleep(Math.round(5 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  /**
   * Statements inside transactions (the transitions: the hot path) run as named prepared
   * statements, parsed and planned once per connection, which measured about 1.5× the cycles/s
   * of unnamed ones. Reads outside transactions stay unprepared, so list filters get a plan for
   * their actual values.
   */
  private statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
    const text = numberPlaceholders(sql);
    let name = this.prepared.get(sql);
    if (name === undefined && this.preparing && this.prepared.size < MAX_PREPARED) {
      name = `athena_${++this.preparedCount}`;
      this.prepared.set(sql, name);
    }
    return { name: this.preparing ? name : undefined, text, values: toParams(params) };
  }

  /**
   * A pooled connection. A checked-out client whose connection drops emits 'error'; the failing
   * query reports it, so that event is swallowed here. `done` hands the client back, or destroys
   * it when it broke, rather than giving it to the next caller.
   */
  private async checkout(): Promise<{ client: pg.PoolClient; done(broken?: unknown): void }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return mapPgError(err);
    }
    const onError = () => {};
    client.on('error', onError);
    return {
      client,
      done(broken) {
        client.off('error', onError);
        client.release(broken instanceof Error ? broken : broken ? new Error('connection failed') : undefined);
      },
    };
  }

  private async txOnce<T>(fn: (q: Queryable) => Promise<T>, begin: string): Promise<T> {
    const { client, done } = await this.checkout();
    let broken: unknown;
    try {
      // What the transaction sends in one tick leaves in one write: BEGIN with the first statement,
      // the log rows with the last-seen upsert and the COMMIT behind them. A write costs a system
      // call and, on a busy machine, often hands the CPU to the server process it wakes.
      const stream = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
      let corked = false;
      const gather = () => {
        if (corked || !stream?.cork || !stream.uncork) return;
        corked = true;
        stream.cork();
        process.nextTick(() => {
          corked = false;
          stream.uncork!();
        });
      };
      gather();
      const begun = client.query(begin);
      begun.catch(() => {}); // a failed BEGIN also fails the statement behind it; awaited below
      // Raw pg errors escape from here: their SQLSTATE decides about retrying; tx() maps them once.
      // Every statement is kept: the body may return before an answer it does not need (the COMMIT
      // then travels behind it), and one that failed must fail the transaction, not be lost.
      const sent: Array<Promise<unknown>> = [];
      const q = queryable((sql, params) => {
        gather();
        const answer = client.query(this.statement(sql, params));
        sent.push(answer);
        return answer;
      }, true);
      const result = await fn(q);
      gather();
      const committing = client.query('COMMIT');
      committing.catch(() => {}); // awaited below, after BEGIN's answer
      await begun;
      const committed = await committing;
      // In a transaction a failed statement aborted, COMMIT rolls back: the first failure is the error.
      for (const outcome of await Promise.allSettled(sent)) if (outcome.status === 'rejected') throw outcome.reason;
      if (committed.command !== 'COMMIT') throw new Error(`PostgreSQL answered COMMIT with ${committed.command}`);
      return result;
    } catch (err) {
      // A connection whose prepared statements went wrong is dropped with them.
      if (isUnavailable(err) || isPreparedStatementTrouble(err)) broken = err;
      else {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr;
        }
      }
      throw err;
    } finally {
      done(broken);
    }
  }

  /**
   * Applies the numbered migrations (see ../migrations.ts) in one transaction under an advisory
   * lock keyed by the schema, so replicas starting together wait for each other instead of racing.
   */
  async migrate(): Promise<string[]> {
    // On a session of its own, without the pool's statement timeout: a migration may wait for another
    // replica's, or rewrite a large table, for longer than any request should.
    const client = await openDedicatedSession(this.clientConfig());
    try {
      const schema = (await client.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema;
      if (!schema) {
        const path = (await client.query<{ search_path: string }>('SHOW search_path')).rows[0]?.search_path;
        throw new UnavailableError(`no schema to create Athena's tables in: none of search_path (${path}) exists in ${this.target}`);
      }
      await client.query('BEGIN');
      try {
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('athena_migrate'), hashtext(current_schema()))`);
        const session = queryable((sql, params) => client.query(numberPlaceholders(sql), toParams(params)));
        const applied = await applyMigrations({ ...session, exec: async (script) => void (await client.query(script)) }, this.dialect);
        await client.query('COMMIT');
        return applied;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } catch (err) {
      return mapPgError(err);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async ping(): Promise<void> {
    await this.query(this.pool, 'SELECT 1', []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
