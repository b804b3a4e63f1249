import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { RouteTally } from './route-tally.js';

const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The process's Prometheus registry: default process metrics plus Ninefold's
 * own. Features register theirs with {@link registry}.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly tallies: RouteTally[] = [];

  readonly httpRequests = new Counter({
    name: 'ninefold_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
    collect: () => {
      for (const t of this.tallies) t.foldRequests(this.httpRequests);
    },
  });

  readonly httpDuration = new Histogram({
    name: 'ninefold_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to sending its response, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [this.registry],
    collect: () => {
      for (const t of this.tallies) t.foldDurations(this.httpDuration);
    },
  });

  readonly heartbeatsAccepted = new Counter({
    name: 'ninefold_heartbeats_accepted_total',
    help: 'Heartbeats accepted by the api (durable in the ingest stream).',
    registers: [this.registry],
  });

  readonly heartbeatsIngested = new Counter({
    name: 'ninefold_heartbeats_ingested_total',
    help: 'Heartbeats a worker wrote to Postgres.',
    registers: [this.registry],
  });

  readonly drainSeconds = new Histogram({
    name: 'ninefold_ingest_drain_seconds',
    help: 'Time a worker took to process one read of the ingest stream.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly sweepSeconds = new Histogram({
    name: 'ninefold_detector_sweep_seconds',
    help: 'Time the leader took for one failure-detection sweep.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ninefold_' });
    // prom-client's totals of active handles, requests and resources are gauges named like counters, which
    // `promtool check metrics` rejects (and rate() would misread); the same figures by type stay (sum them).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(`ninefold_${name}`);
  }

  /** {@link httpRequests} and {@link httpDuration} of one hot route, recorded without prom-client's per-call label hashing ({@link RouteTally}). */
  routeTally(method: string, route: string): RouteTally {
    const tally = new RouteTally(method, route, HTTP_DURATION_BUCKETS);
    this.tallies.push(tally);
    return tally;
  }
}
