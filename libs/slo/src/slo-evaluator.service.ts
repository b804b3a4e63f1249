import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig, type LeaderElection, LeaderElectionService, type NinefoldConfig, PrismaService, SqlPool } from '#core';
import { RealtimeEvent, type RealtimeMessage, RealtimePublisher } from '#realtime';
import { SignalsService } from '#registry';
import { IncrementalRequestCounts } from './request-counts.js';
import { requestWindows, type SloView, SloService } from './slo.service.js';

const SEVERITY = { page: 'critical', ticket: 'warning' } as const;
/** SLOs evaluated together. */
const BATCH = 500;

/**
 * The leader evaluates every SLO every SLO_EVALUATION_SECONDS: it stores the
 * SLI, the budget left and the firing alert rules on the SLO (what overviews
 * show), raises an `slo.burn` signal when a page or ticket starts firing and
 * resolves it when it stops, and pushes `slo.update` when an SLO's alerts
 * change or its budget moves by 0.1 % or more.
 */
@Injectable()
export class SloEvaluator implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SloEvaluator.name);
  private election!: LeaderElection;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Request counts kept between runs: a run re-reads only the last minutes (and everything now and then). */
  private readonly requests: IncrementalRequestCounts;

  constructor(
    private readonly prisma: PrismaService,
    private readonly sql: SqlPool,
    private readonly slos: SloService,
    private readonly signals: SignalsService,
    private readonly publisher: RealtimePublisher,
    private readonly leaders: LeaderElectionService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {
    this.requests = new IncrementalRequestCounts(slos.transaction);
  }

  onApplicationBootstrap(): void {
    this.election = this.leaders.elect('slo');
    this.timer = setInterval(() => {
      if (this.running || !this.election.isLeader) return;
      this.running = this.run()
        .then((r) => {
          // Half the interval spent evaluating is worth knowing about before runs start to overlap.
          if (r.totalMs > this.config.SLO_EVALUATION_SECONDS * 500) this.logger.warn(r, `evaluating ${r.slos} SLOs took ${Math.round(r.totalMs)} ms`);
        })
        .catch((err: Error) => this.logger.warn({ err: err.message }, 'SLO evaluation failed; retrying'))
        .finally(() => (this.running = null));
    }, this.config.SLO_EVALUATION_SECONDS * 1000);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One evaluation of every SLO; how long its steps took (ms). */
  async run(): Promise<{ slos: number; countsMs: number; totalMs: number; fullRefresh: boolean }> {
    const started = performance.now();
    const nowMs = this.slos.now();
    const rows = await this.prisma.slo.findMany({ include: { service: { select: { name: true } } }, orderBy: { id: 'asc' } });
    const wanted = requestWindows(rows, nowMs);
    const countsStarted = performance.now();
    const requests = await this.requests.refresh(wanted.serviceIds, wanted.startsMs, nowMs);
    const countsMs = performance.now() - countsStarted;
    // In batches: a few queries per batch however many SLOs it holds.
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const views = await this.slos.evaluateMany(batch, { nowMs, requests });
      await this.store(views);
      const updates: RealtimeMessage[] = [];
      for (let j = 0; j < batch.length; j++) if (await this.compare(batch[j], views[j])) updates.push({ event: RealtimeEvent.SloUpdate, payload: { ...views[j], at: views[j].evaluatedAt } });
      await this.publisher.publishAll(updates);
    }
    return { slos: rows.length, countsMs, totalMs: performance.now() - started, fullRefresh: this.requests.lastRefreshWasFull };
  }

  /** Keeps a batch's results on the SLOs, in one statement. */
  private async store(views: SloView[]): Promise<void> {
    if (views.length === 0) return;
    await this.sql.query(
      `UPDATE slos o SET evaluated_at = v.at, sli_value = v.sli, budget_remaining = v.remaining, burn_rates = v.burn,
              firing = ARRAY(SELECT jsonb_array_elements_text(v.firing))
         FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::float8[], $5::jsonb[], $6::jsonb[]) AS v(id, at, sli, remaining, burn, firing)
        WHERE o.id = v.id`,
      [
        views.map((v) => v.id),
        views.map((v) => v.evaluatedAt),
        views.map((v) => v.sli.value),
        views.map((v) => v.errorBudget.remaining),
        views.map((v) => JSON.stringify(v.burnRates)),
        views.map((v) => JSON.stringify(firingOf(v))),
      ],
    );
  }

  /** Raises or resolves the SLO's burn signals; whether its change is worth an slo.update. */
  private async compare(before: { serviceId: string; budgetRemaining: number | null; firing: string[] }, view: SloView): Promise<boolean> {
    const firing = firingOf(view);
    for (const severity of ['page', 'ticket'] as const) {
      const was = before.firing.some((f) => f.startsWith(`${severity}:`));
      const now = view.alerts.find((a) => a.severity === severity && a.firing);
      const dedupKey = `slo:${view.id}:${severity}`;
      if (now && !was) {
        await this.signals.raise({
          kind: 'slo.burn',
          severity: SEVERITY[severity],
          dedupKey,
          serviceId: before.serviceId,
          service: view.service,
          message: `SLO ${view.name} of ${view.service} burns its error budget ${now.longBurnRate?.toFixed(1)}× too fast (${severity}: ${now.longWindow} and ${now.shortWindow} at ≥ ${now.burnRate})`,
          details: { slo: view.id, severity, longWindow: now.longWindow, shortWindow: now.shortWindow, longBurnRate: now.longBurnRate, shortBurnRate: now.shortBurnRate, budgetRemaining: view.errorBudget.remaining },
        });
      } else if (!now && was) {
        await this.signals.resolve(dedupKey, `SLO ${view.name} of ${view.service}: no longer burning at the ${severity} rate`);
      }
    }
    const moved = before.budgetRemaining === null || view.errorBudget.remaining === null ? before.budgetRemaining !== view.errorBudget.remaining : Math.abs(before.budgetRemaining - view.errorBudget.remaining) >= 0.001;
    return moved || firing.join() !== before.firing.join();
  }
}

/** The alert rules that fire, as "<severity>:<longWindow>". */
function firingOf(view: SloView): string[] {
  return view.alerts.filter((a) => a.firing).map((a) => `${a.severity}:${a.longWindow}`);
}
