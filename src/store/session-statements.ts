// The statements replicas run on dedicated sessions (PostgreSQL: LISTEN/NOTIFY, the leader lock),
// kept here so the cluster loops hold no SQL. Loads no driver: sessions come from Db.openSession.
import type { DedicatedSession } from './db.js';

/** The channel replicas notify after they wrote events; the payload is the schema. */
export const EVENTS_CHANNEL = 'athena_events';

// Its own transaction, after the writes committed, and without waiting for a disk flush: a lost
// notification only delays delivery until the next poll.
const NOTIFY_SQL = `BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_notify('${EVENTS_CHANNEL}', current_schema()); COMMIT`;

/** The channel replicas announce new live output on (it is not in task_logs); the payload is JSON with the schema. */
export const OUTPUT_CHANNEL = 'athena_output';
/** NOTIFY payloads must stay under 8000 bytes. */
export const NOTIFY_PAYLOAD_MAX_BYTES = 7900;

// A session-level advisory lock, keyed by role and schema so queues sharing one database elect
// apart. The server releases it the moment the holder's session ends (process killed, connection
// lost), which is what lets a follower take over.
const TRY_LOCK = `SELECT pg_try_advisory_lock(hashtext('athena_leader:' || $1::text), hashtext(current_schema())) AS locked`;

/** Tells the other replicas' feeds that new events are in task_logs. */
export async function notifyEvents(session: DedicatedSession): Promise<void> {
  await session.query(NOTIFY_SQL);
}

/**
 * Listens for other sessions' event notifications about this queue: other queues (schemas) on the
 * same database notify the same channel, and this session's own notifications announce events its
 * process has emitted already; neither calls `onEvents`.
 */
export async function listenForEvents(session: DedicatedSession, onEvents: () => void): Promise<void> {
  const schema = (await session.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema;
  const ownPid = (session as DedicatedSession & { processID?: number }).processID;
  session.on('notification', (message) => {
    if (message.channel === EVENTS_CHANNEL && message.payload === schema && message.processId !== ownPid) onEvents();
  });
  await session.query(`LISTEN ${EVENTS_CHANNEL}`);
}

/** Takes the leader lock of `role` for as long as the session lives; false when another holds it. */
export async function tryLeaderLock(session: DedicatedSession, role: string): Promise<boolean> {
  return (await session.query<{ locked: boolean }>(TRY_LOCK, [role])).rows[0]?.locked === true;
}

/** A round trip on the session: fails when it no longer answers. */
export async function pingSession(session: DedicatedSession): Promise<void> {
  await session.query('SELECT 1');
}

/**
 * Readies a session for the output relay: its notifications commit without waiting for a disk flush (a
 * lost one costs a live line, never data), and it listens to the other sessions' output of this queue.
 * Returns the schema, which the payloads carry so queues sharing a database stay apart.
 */
export async function listenForOutput(session: DedicatedSession, onPayload: (payload: string) => void): Promise<string> {
  const schema = (await session.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? '';
  const ownPid = (session as DedicatedSession & { processID?: number }).processID;
  await session.query('SET synchronous_commit TO OFF');
  session.on('notification', (message) => {
    if (message.channel === OUTPUT_CHANNEL && message.processId !== ownPid && message.payload) onPayload(message.payload);
  });
  await session.query(`LISTEN ${OUTPUT_CHANNEL}`);
  return schema;
}

/** Announces new output to the other replicas (a payload of at most NOTIFY_PAYLOAD_MAX_BYTES). */
export async function notifyOutput(session: DedicatedSession, payload: string): Promise<void> {
  await session.query(`SELECT pg_notify('${OUTPUT_CHANNEL}', $1)`, [payload]);
}
