/** Milliseconds spent in each step of a run, added up over the calls timed. */
export class Stopwatch<K extends string> {
  readonly ms: Record<K, number>;

  constructor(steps: readonly K[]) {
    this.ms = {} as Record<K, number>;
    for (const s of steps) this.ms[s] = 0;
  }

  /** Runs `fn`, adding its time to `step`. */
  readonly time = async <T>(step: K, fn: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    try {
      return await fn();
    } finally {
      this.ms[step] += performance.now() - at;
    }
  };
}
