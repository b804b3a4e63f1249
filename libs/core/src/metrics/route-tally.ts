import type { Counter, Histogram } from 'prom-client';

type HttpLabels = 'method' | 'route' | 'status';

/** One status code's requests since the metrics were last read. */
class StatusTally {
  /** Not yet added to the request counter. */
  requests = 0;
  /** Not yet added to the duration histogram: how many, their sum, and how many fell in each bucket (the last is above every bound). */
  observed = 0;
  sum = 0;
  readonly buckets: Float64Array;

  constructor(bounds: number) {
    this.buckets = new Float64Array(bounds + 1);
  }
}

/** prom-client's per-label-set histogram state (lib/histogram.js `createBaseValues`), which it exports from. */
interface HistogramValues {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/**
 * `ninefold_http_requests_total` and `ninefold_http_request_duration_seconds`
 * for one hot route, counted in plain numbers and added to the two metrics
 * when they are read (their `collect`).
 *
 * prom-client's labelled `inc` and `observe` build and hash a label string on
 * every call: on the heartbeat route that was about 2 % of the api's CPU. Here
 * a request costs a map lookup and a few additions. What a scrape shows is
 * the same as if each request had been observed (route-tally.spec.ts compares
 * the two).
 */
export class RouteTally {
  private readonly statuses = new Map<number, StatusTally>();

  constructor(
    readonly method: string,
    readonly route: string,
    private readonly bounds: readonly number[],
  ) {}

  /** One answered request. */
  record(status: number, seconds: number): void {
    let t = this.statuses.get(status);
    if (t === undefined) {
      t = new StatusTally(this.bounds.length);
      this.statuses.set(status, t);
    }
    t.requests++;
    t.observed++;
    t.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    t.buckets[i]++;
  }

  /** Adds the requests recorded since the last call to `counter`. */
  foldRequests(counter: Counter<HttpLabels>): void {
    for (const [status, t] of this.statuses) {
      if (t.requests === 0) continue;
      counter.inc(this.labels(status), t.requests);
      t.requests = 0;
    }
  }

  /** Adds the durations recorded since the last call to `histogram` (which must have this tally's bounds). */
  foldDurations(histogram: Histogram<HttpLabels>): void {
    for (const [status, t] of this.statuses) {
      if (t.observed === 0) continue;
      const into = this.histogramValues(histogram, this.labels(status));
      into.count += t.observed;
      into.sum += t.sum;
      for (let i = 0; i < this.bounds.length; i++) into.bucketValues[this.bounds[i]] += t.buckets[i];
      t.observed = 0;
      t.sum = 0;
      t.buckets.fill(0);
    }
  }

  private labels(status: number): Record<HttpLabels, string> {
    return { method: this.method, route: this.route, status: String(status) };
  }

  /**
   * The histogram's values for a label set, created (with the public `zero`)
   * when it has none. prom-client has no public way to add many observations
   * at once, so this reaches into its state; the spec fails if that changes.
   */
  private histogramValues(histogram: Histogram<HttpLabels>, labels: Record<HttpLabels, string>): HistogramValues {
    const state = histogram as unknown as { hashMap: Record<string, HistogramValues> };
    const find = () => Object.values(state.hashMap).find((v) => v.labels.method === labels.method && v.labels.route === labels.route && v.labels.status === labels.status);
    let values = find();
    if (values === undefined) {
      histogram.zero(labels);
      values = find();
    }
    if (values === undefined || typeof values.count !== 'number' || typeof values.bucketValues !== 'object') {
      throw new Error('prom-client histogram state is not as RouteTally expects (was prom-client upgraded?)');
    }
    return values;
  }
}
