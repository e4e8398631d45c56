// Writes that arrive together, gathered by kind and served by one transaction and one statement
// (sql-claim-batch.ts, sql-transition-batch.ts); what a batch does not serve runs on its own.

/** Writes served by one statement at most; bounds what one statement locks and returns. */
const MAX_BATCH = 64;

/**
 * Batches of one kind running at once. More than one keeps writes flowing when they arrive spread
 * out (a batch of two need not wait for a batch of one); more waiting writes make larger batches.
 */
const MAX_IN_FLIGHT = 4;

/** What a batch answers: the outcome of each write it served, by the write's first key; the rest run on their own. */
export type Served<O> = Map<string, O>;

type Waiting<S, O> = { spec: S; keys: readonly string[]; resolve(outcome: O): void; reject(err: unknown): void };

/**
 * Gathers the writes of one event-loop turn by kind (what one statement's conditions need alike),
 * and those that arrive while MAX_IN_FLIGHT batches of their kind run. Two or more go to `together`;
 * a write it did not serve (its state was not what it needs, or a rule the batch leaves to single
 * writes applies), or one alone, goes to `single`, the write as it always was, so every answer (and
 * every refusal's reason) is the one it would get on its own. A failed batch runs each of its writes
 * on its own, so one write's bad input fails only that write.
 *
 * A key (the task a transition changes, the instance a claim is for) is in one running batch of its
 * kind at a time: a second write with a key already running waits for the next batch, as it would
 * wait for the first's lock. (Batches of different kinds may share a task; transition batches lock
 * their rows in task order, and a deadlock, should one come, runs the transaction again.)
 *
 * Per process, and right so: a replica batches the writes that reach it; every rule a batch applies
 * is checked by its statement in the database, as a single write's is, so batches of different
 * replicas meet there as single writes do.
 */
export class WriteBatches<S, O> {
  private readonly kinds = new Map<string, { waiting: Array<Waiting<S, O>>; inFlight: number; busy: Set<string>; scheduled: boolean }>();

  constructor(
    private readonly together: (specs: S[]) => Promise<Served<O>>,
    private readonly single: (spec: S) => Promise<O>,
  ) {}

  /** Runs `spec` in a batch of `kind`, apart from every write sharing one of its `keys`. */
  run(kind: string, keys: readonly string[], spec: S): Promise<O> {
    return new Promise((resolve, reject) => {
      let state = this.kinds.get(kind);
      if (!state) {
        state = { waiting: [], inFlight: 0, busy: new Set(), scheduled: false };
        this.kinds.set(kind, state);
      }
      state.waiting.push({ spec, keys, resolve, reject });
      if (!state.scheduled && state.inFlight < MAX_IN_FLIGHT) {
        state.scheduled = true;
        setImmediate(() => this.start(kind));
      }
    });
  }

  /** Starts a batch of what waits (keys not running already), if a batch may start. */
  private start(kind: string): void {
    const state = this.kinds.get(kind)!;
    state.scheduled = false;
    if (state.inFlight >= MAX_IN_FLIGHT) return;
    const batch: Array<Waiting<S, O>> = [];
    const later: Array<Waiting<S, O>> = [];
    for (const item of state.waiting) {
      if (batch.length < MAX_BATCH && !item.keys.some((key) => state.busy.has(key))) {
        for (const key of item.keys) state.busy.add(key);
        batch.push(item);
      } else later.push(item);
    }
    state.waiting = later;
    if (batch.length === 0) return;
    state.inFlight++;
    void this.runBatch(batch).finally(() => {
      state.inFlight--;
      for (const item of batch) for (const key of item.keys) state.busy.delete(key);
      if (state.waiting.length > 0) this.start(kind);
      // Kept while a start is scheduled: it reads this state when it runs.
      else if (state.inFlight === 0 && !state.scheduled) this.kinds.delete(kind);
    });
  }

  private async runBatch(batch: Array<Waiting<S, O>>): Promise<void> {
    if (batch.length === 1) return this.runSingle(batch[0]!);
    let served: Served<O>;
    try {
      served = await this.together(batch.map((item) => item.spec));
    } catch {
      served = new Map();
    }
    await Promise.all(batch.map((item) => {
      const outcome = served.get(item.keys[0]!);
      if (!outcome) return this.runSingle(item);
      item.resolve(outcome);
      return undefined;
    }));
  }

  private async runSingle(item: Waiting<S, O>): Promise<void> {
    try {
      item.resolve(await this.single(item.spec));
    } catch (err) {
      item.reject(err);
    }
  }
}
