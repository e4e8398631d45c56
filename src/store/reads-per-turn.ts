// Reads asked in one turn of the event loop, served by one statement: callers asking for the next
// ready task together (Discord's next in line; a complete with claim_next that found none to claim,
// for its next_task_id) share one read. A plain complete reads it in its own transaction instead (TransitionSpec.nextReady).

/**
 * Calls with the same key in one turn share one run of their read, started when the turn ends:
 * after every caller asked, so after every caller's own write committed (an agent that completed
 * a task is told of the dependant it freed). The run is given the latest time asked for.
 */
export class ReadsPerTurn<T> {
  private readonly pending = new Map<string, { now: number; answer: Promise<T> }>();

  get(key: string, now: number, read: (now: number) => Promise<T>): Promise<T> {
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.now = Math.max(waiting.now, now);
      return waiting.answer;
    }
    const entry = { now, answer: undefined as unknown as Promise<T> };
    entry.answer = new Promise<T>((resolve, reject) => {
      setImmediate(() => {
        this.pending.delete(key);
        read(entry.now).then(resolve, reject);
      });
    });
    this.pending.set(key, entry);
    return entry.answer;
  }
}
