import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig, type LeaderElection, LeaderElectionService, type NinefoldConfig, PrismaService } from '#core';
import { RealtimeEvent, RealtimePublisher } from '#realtime';
import { SignalsService } from '#registry';
import { type SloView, SloService } from './slo.service.js';

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

  constructor(
    private readonly prisma: PrismaService,
    private readonly slos: SloService,
    private readonly signals: SignalsService,
    private readonly publisher: RealtimePublisher,
    private readonly leaders: LeaderElectionService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.election = this.leaders.elect('slo');
    this.timer = setInterval(() => {
      if (this.running || !this.election.isLeader) return;
      this.running = this.run()
        .catch((err: Error) => this.logger.warn({ err: err.message }, 'SLO evaluation failed; retrying'))
        .finally(() => (this.running = null));
    }, this.config.SLO_EVALUATION_SECONDS * 1000);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One evaluation of every SLO. */
  async run(): Promise<void> {
    const rows = await this.prisma.slo.findMany({ include: { service: { select: { name: true } } }, orderBy: { id: 'asc' } });
    // In batches: a few queries per batch however many SLOs it holds.
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const views = await this.slos.evaluateMany(batch);
      for (let j = 0; j < batch.length; j++) await this.record(batch[j], views[j]);
    }
  }

  private async record(before: { id: string; serviceId: string; budgetRemaining: number | null; firing: string[] }, view: SloView): Promise<void> {
    const firing = view.alerts.filter((a) => a.firing).map((a) => `${a.severity}:${a.longWindow}`);
    await this.prisma.slo.update({ where: { id: view.id }, data: { evaluatedAt: new Date(view.evaluatedAt), sliValue: view.sli.value, budgetRemaining: view.errorBudget.remaining, firing, burnRates: view.burnRates } });
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
    if (moved || firing.join() !== before.firing.join()) await this.publisher.publish(RealtimeEvent.SloUpdate, { ...view, at: view.evaluatedAt });
  }
}
