// Short holds on the tasks GET /api/tasks/next shows. Agents of the original protocol peek at the
// next task and then claim it by id; when many poll together they were all shown the same task and
// all but one lost the claim (409) and polled again. A task shown is now held for a moment, and the
// next peek shows the first pending task not held, so agents polling together are shown different
// tasks. A caller that names itself (an instance id) is shown its own held task again, so asking
// twice gives one answer. Holds only change what a peek shows; the claim stays the atomic check.
//
// Holds live in the database (Store.peekAndHold), taken by the peek's own statement, so agents peeking
// through different replicas are shown different tasks too. SQLite uses the same SQL (in one write
// transaction) rather than a map in memory: one path to test, and it costs a SQLite peek little
// (bench/RESULTS-replicas.md).

/** How long a task shown by a peek is passed over by other peeks (unless it is the only one). */
export const PEEK_HOLD_MS = 2_000;
/** At most this many pending tasks are looked at to find one not held (bounds a peek's cost). */
export const PEEK_WINDOW_MAX = 64;
/**
 * A peek that picked a free task at the same moment as another peek (on another replica) looks
 * again, at most this many times; then it shows what it found, as when every task is held.
 */
export const PEEK_RACE_RETRIES = 3;
