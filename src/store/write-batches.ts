// Writes that arrive together, gathered by kind and served by one transaction and one statement
// (sql-claim-batch.ts, sql-transition-batch.ts); what a batch does not serve runs on its own.

/** Writes served by one statement at most; bounds what one statement locks and returns. */
const MAX_BATCH = 64;

/** What a batch answers: the outcome of each write it served, by the write's key; the rest run on their own. */
export type Served<O> = Map<string, O>;

type Waiting<S, O> = { spec: S; key: string; resolve(outcome: O): void; reject(err: unknown): void };

/**
 * Gathers the writes of one event-loop turn, and those that arrive while a batch of their kind runs,
 * by kind (what one statement's conditions need alike). Two or more go to `together`; a write it did
 * not serve (its state was not what it needs, or a rule the batch leaves to single writes applies),
 * or one alone, goes to `single`, the write as it always was, so every answer (and every refusal's
 * reason) is the one it would get on its own. A failed batch runs each of its writes on its own,
 * so one write's bad input fails only that write.
 *
 * Keys are distinct within a batch (one task per transition, one instance per claim): a second
 * write with a key already in the batch waits for the next one, as it would wait for the first's lock.
 */
export class WriteBatches<S, O> {
  private readonly waiting = new Map<string, Array<Waiting<S, O>>>();
  private readonly running = new Set<string>();

  constructor(
    private readonly together: (specs: S[]) => Promise<Served<O>>,
    private readonly single: (spec: S) => Promise<O>,
  ) {}

  run(kind: string, key: string, spec: S): Promise<O> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(kind);
      if (queue) queue.push({ spec, key, resolve, reject });
      else this.waiting.set(kind, [{ spec, key, resolve, reject }]);
      if (!this.running.has(kind)) {
        this.running.add(kind);
        setImmediate(() => void this.drain(kind));
      }
    });
  }

  private async drain(kind: string): Promise<void> {
    try {
      for (let queue = this.waiting.get(kind); queue && queue.length > 0; queue = this.waiting.get(kind)) {
        const batch: Array<Waiting<S, O>> = [];
        const later: Array<Waiting<S, O>> = [];
        const keys = new Set<string>();
        for (const item of queue) {
          if (batch.length < MAX_BATCH && !keys.has(item.key)) {
            keys.add(item.key);
            batch.push(item);
          } else later.push(item);
        }
        this.waiting.set(kind, later);
        if (batch.length === 1) this.runSingle(batch[0]!);
        else await this.runTogether(batch);
      }
    } finally {
      this.waiting.delete(kind);
      this.running.delete(kind);
    }
  }

  private runSingle(item: Waiting<S, O>): void {
    this.single(item.spec).then(item.resolve, item.reject);
  }

  private async runTogether(batch: Array<Waiting<S, O>>): Promise<void> {
    let served: Served<O>;
    try {
      served = await this.together(batch.map((item) => item.spec));
    } catch {
      served = new Map();
    }
    for (const item of batch) {
      const outcome = served.get(item.key);
      if (outcome) item.resolve(outcome);
      else this.runSingle(item);
    }
  }
}
