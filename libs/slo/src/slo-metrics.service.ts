import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService, scrapeSnapshot, SqlPool } from '#core';
import { DEFAULT_POLICY } from './burn-rate.js';

interface SloSnapshot {
  service: string;
  slo: string;
  objective: number;
  sli_value: number | null;
  budget_remaining: number | null;
  burn_rates: Record<string, number | null> | null;
  firing: string[];
}

/** One scrape reads every SLO once, whichever gauge asks first. */
const SNAPSHOT_TTL_MS = 1000;

/**
 * Every SLO's last evaluation on the api's /metrics, for existing Prometheus
 * and Grafana setups: objective, SLI, error budget left, burn rate per window
 * and each alert rule's state (1 firing, 0 not).
 */
@Injectable()
export class SloMetrics implements OnModuleInit {
  private readonly rows = scrapeSnapshot(SNAPSHOT_TTL_MS, () =>
    this.sql
      .query<SloSnapshot>(
        `SELECT s.name AS service, o.name AS slo, o.objective, o.sli_value, o.budget_remaining, o.burn_rates, o.firing
           FROM slos o JOIN services s ON s.id = o.service_id WHERE o.evaluated_at IS NOT NULL`,
      )
      .then((r) => r.rows),
  );

  constructor(
    private readonly metrics: MetricsService,
    private readonly sql: SqlPool,
  ) {}

  onModuleInit(): void {
    const rows = () => this.rows();
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, r: SloSnapshot) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.metrics.registry],
        async collect() {
          const all = await rows().catch(() => null);
          // Postgres down: keep the last values (/readyz reports the outage).
          if (!all) return;
          this.reset();
          for (const r of all) fill(this, r);
        },
      });
    gauge('ninefold_slo_objective', 'Objective of each SLO (a fraction).', ['service', 'slo'], (g, r) => g.set({ service: r.service, slo: r.slo }, r.objective));
    gauge('ninefold_slo_sli', 'SLI of each SLO over its window at the last evaluation (a fraction).', ['service', 'slo'], (g, r) => {
      if (r.sli_value !== null) g.set({ service: r.service, slo: r.slo }, r.sli_value);
    });
    gauge('ninefold_slo_error_budget_remaining', 'Share of the error budget left (1 untouched, 0 spent, below 0 overspent).', ['service', 'slo'], (g, r) => {
      if (r.budget_remaining !== null) g.set({ service: r.service, slo: r.slo }, r.budget_remaining);
    });
    gauge('ninefold_slo_burn_rate', 'Burn rate of each SLO by window (1 spends the budget exactly over the SLO window).', ['service', 'slo', 'window'], (g, r) => {
      for (const [window, rate] of Object.entries(r.burn_rates ?? {})) if (rate !== null) g.set({ service: r.service, slo: r.slo, window }, rate);
    });
    gauge('ninefold_slo_alert_firing', 'Whether each multi-window burn-rate alert rule fires (1) or not (0).', ['service', 'slo', 'severity', 'long_window'], (g, r) => {
      for (const rule of DEFAULT_POLICY) g.set({ service: r.service, slo: r.slo, severity: rule.severity, long_window: rule.longWindow }, r.firing.includes(`${rule.severity}:${rule.longWindow}`) ? 1 : 0);
    });
  }
}
