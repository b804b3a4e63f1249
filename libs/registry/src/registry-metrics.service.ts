import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { InjectConfig, MetricsService, type NinefoldConfig, scrapeSnapshot, SqlPool } from '#core';

interface StateCount {
  service: string;
  service_state: string;
  state: string | null;
  n: number;
}

interface InstanceRow {
  service: string;
  instance: string;
  state: string;
}

/** Instance and service states every instance state asks for: one scrape reads them once. */
const SNAPSHOT_TTL_MS = 1000;
const INSTANCE_STATES = ['UP', 'SUSPECT', 'DOWN', 'UNKNOWN'] as const;

/**
 * Services and instances on the api's /metrics, so a Prometheus user can graph
 * and alert on "how many instances of checkout are DOWN":
 * `ninefold_service_instances{service,state}` (every state, 0 included),
 * `ninefold_service_up{service}` (1 when UP or DEGRADED) and, with
 * METRICS_INSTANCE_SERIES=true, `ninefold_instance_up{service,instance_id}` (not
 * `instance`: Prometheus gives every scraped series its own `instance` label,
 * the target's address, and would rename ours `exported_instance`).
 * While PostgreSQL cannot be read the last values stay (/readyz says why).
 */
@Injectable()
export class RegistryMetrics implements OnModuleInit {
  private readonly stateCounts = scrapeSnapshot(SNAPSHOT_TTL_MS, () =>
    this.sql
      .query<StateCount>(
        `SELECT s.name AS service, s.state::text AS service_state, i.state::text AS state, count(i.id)::int AS n
           FROM services s LEFT JOIN instances i ON i.service_id = s.id
          GROUP BY s.name, s.state, i.state`,
      )
      .then((r) => r.rows),
  );

  constructor(
    private readonly metrics: MetricsService,
    private readonly sql: SqlPool,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  onModuleInit(): void {
    const counts = () => this.stateCounts();
    const registers = [this.metrics.registry];
    new Gauge({
      name: 'ninefold_service_instances',
      help: 'Instances of each service by state (UP, SUSPECT, DOWN, UNKNOWN).',
      labelNames: ['service', 'state'],
      registers,
      async collect() {
        const rows = await counts().catch(() => null);
        if (!rows) return;
        this.reset();
        for (const r of rows) {
          // Every state of every service, 0 included, so "== 0" and rate() work without absent().
          for (const state of INSTANCE_STATES) this.inc({ service: r.service, state }, 0);
          if (r.state !== null) this.inc({ service: r.service, state: r.state }, r.n);
        }
      },
    });
    new Gauge({
      name: 'ninefold_service_up',
      help: 'Whether each service works (1: UP or DEGRADED; 0: DOWN or UNKNOWN).',
      labelNames: ['service'],
      registers,
      async collect() {
        const rows = await counts().catch(() => null);
        if (!rows) return;
        this.reset();
        for (const r of rows) this.set({ service: r.service }, r.service_state === 'UP' || r.service_state === 'DEGRADED' ? 1 : 0);
      },
    });
    if (this.config.METRICS_INSTANCE_SERIES) {
      const sql = this.sql;
      new Gauge({
        name: 'ninefold_instance_up',
        help: 'Whether each instance is UP (1) or not (0: SUSPECT, DOWN or UNKNOWN). One series per instance (METRICS_INSTANCE_SERIES).',
        labelNames: ['service', 'instance_id'],
        registers,
        async collect() {
          const rows = await sql
            .query<InstanceRow>('SELECT s.name AS service, i.name AS instance, i.state::text AS state FROM instances i JOIN services s ON s.id = i.service_id')
            .then((r) => r.rows)
            .catch(() => null);
          if (!rows) return;
          this.reset();
          for (const r of rows) this.set({ service: r.service, instance_id: r.instance }, r.state === 'UP' ? 1 : 0);
        },
      });
    }
  }
}
