/** What {@link WriteBehind} writes: items in the order they were queued. */
export interface WriteBehindOptions<T> {
  /** Writes items and acknowledges their entries; a rejection stops the writer (see {@link WriteBehind.takeFailure}). */
  write: (items: T[]) => Promise<void>;
  /** Queued weight beyond which {@link WriteBehind.room} waits. */
  maxWeight: number;
  /** Items per write: 1 writes each on its own; more lets a writer that fell behind catch up in fewer, larger writes. */
  itemsPerWrite: number;
}

/**
 * The part of a stream consumer's work that finishes entries after
 * {@link consume}'s `handle` returned, so the next read does not wait for
 * it: the heartbeat drain writes chunks to Postgres that it has already
 * applied to live state, the transitions consumer records changes it has
 * already announced. Items are written in the order they were queued, by one
 * writer at a time.
 *
 * A failed write drops everything queued (it all stays pending in the
 * stream) and is reported once through {@link takeFailure}; given to
 * `consume` as `behind`, that fails its next round, which then retries the
 * pending entries, and {@link holds} keeps entries still queued from being
 * handed to `handle` again meanwhile.
 */
export class WriteBehind<T> {
  private queue: { ids: string[]; item: T; weight: number }[] = [];
  /** Entry ids queued or being written. */
  private readonly held = new Set<string>();
  private weight = 0;
  /** The ids and weight of the items being written. */
  private current: string[] = [];
  private currentWeight = 0;
  private running = false;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private waiters: (() => void)[] = [];

  constructor(private readonly o: WriteBehindOptions<T>) {}

  /** Queues an item that finishes the entries `ids`, starting the writer when it is idle. */
  push(ids: string[], item: T, weight: number): void {
    for (const id of ids) this.held.add(id);
    this.queue.push({ ids, item, weight });
    this.weight += weight;
    if (!this.running) {
      this.running = true;
      this.writing = this.drain();
    }
  }

  /** Whether an entry is queued or being written. */
  holds(id: string): boolean {
    return this.held.has(id);
  }

  /** The entry ids queued or being written (for `consume`'s `held`). */
  heldIds(): string[] {
    return [...this.held];
  }

  /** How many entry ids are queued or being written. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Weight queued or being written. */
  get queuedWeight(): number {
    return this.weight;
  }

  /**
   * Lets go of everything queued (a stop: it all stays pending in the
   * stream, for this consumer's next start or another's takeover); the write
   * under way finishes. {@link settled} then resolves after it.
   */
  abandon(): void {
    this.queue = [];
    this.held.clear();
    for (const id of this.current) this.held.add(id);
    this.weight = this.currentWeight;
  }

  /** The last write failure not yet reported, cleared. */
  takeFailure(): unknown {
    const err = this.failure;
    this.failure = null;
    return err;
  }

  /** Resolves once the queued weight is at most `maxWeight`, or the writer stopped. */
  room(): Promise<void> {
    return this.until(() => this.weight <= this.o.maxWeight);
  }

  /** Resolves once `ok()` holds (checked after each write), or the writer stopped. */
  async until(ok: () => boolean): Promise<void> {
    while (!ok() && this.running) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when the writer is idle (everything written, or stopped at a failure). */
  settled(): Promise<void> {
    return this.writing;
  }

  /**
   * Writes until the queue is empty (clearing `running` in the same step, so
   * an item queued after that starts a new writer) or a write fails. Never
   * rejects.
   */
  private async drain(): Promise<void> {
    for (;;) {
      const batch = this.queue.splice(0, this.o.itemsPerWrite);
      if (batch.length === 0) {
        this.running = false;
        this.wake();
        return;
      }
      this.current = batch.flatMap((b) => b.ids);
      this.currentWeight = batch.reduce((n, b) => n + b.weight, 0);
      try {
        await this.o.write(batch.map((b) => b.item));
      } catch (err) {
        this.failure = err;
        this.queue = [];
        this.held.clear();
        this.weight = 0;
        this.current = [];
        this.currentWeight = 0;
        this.running = false;
        this.wake();
        return;
      }
      for (const id of this.current) this.held.delete(id);
      this.weight -= this.currentWeight;
      this.current = [];
      this.currentWeight = 0;
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
