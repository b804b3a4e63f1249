import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig, type LeaderElection, LeaderElectionService, type NinefoldConfig, SqlPool } from '#core';
import { RealtimeEvent, type RealtimeMessage, RealtimePublisher } from '#realtime';
import { AvailabilityRollups, KeptSpans, SignalsService } from '#registry';
import { IncrementalRequestCounts } from './request-counts.js';
import { requestWindows, type SloView, SloService } from './slo.service.js';
import { Stopwatch } from './stopwatch.js';
import { apart, changed, firingOf, type StoredSlo } from './stored-figures.js';

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
  /** State history kept between runs: read again when it changes. */
  private readonly history: KeptSpans;
  /** SLOs as last read or stored, by id, with their update time (seconds since the epoch, as Postgres gives it). */
  private readonly known = new Map<string, { updatedAt: number; slo: StoredSlo }>();
  /** The list the last load returned, and the count and latest update time it was read at. */
  private loaded: StoredSlo[] | null = null;
  private loadedStamp = '';

  constructor(
    private readonly sql: SqlPool,
    private readonly slos: SloService,
    private readonly signals: SignalsService,
    private readonly publisher: RealtimePublisher,
    private readonly leaders: LeaderElectionService,
    rollups: AvailabilityRollups,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {
    this.requests = new IncrementalRequestCounts(slos.transaction);
    this.history = new KeptSpans(rollups, sql);
  }

  onApplicationBootstrap(): void {
    this.election = this.leaders.elect('slo');
    this.timer = setInterval(() => {
      if (this.running || !this.election.isLeader) return;
      this.running = this.run()
        .then((r) => {
          this.logger.debug(r, 'SLOs evaluated');
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

  /** One evaluation of every SLO; how long it and its steps took (ms). */
  async run(): Promise<{ slos: number; totalMs: number; loadMs: number; countsMs: number; evaluateMs: number; storeMs: number; fullRefresh: boolean; detail: Record<string, number> }> {
    const watch = new Stopwatch(['load', 'counts', 'spans', 'evaluate', 'store', 'write', 'publish'] as const);
    const { time: timed, ms: t } = watch;
    const started = performance.now();
    const nowMs = this.slos.now();
    const rows = await timed('load', () => this.load());
    const wanted = requestWindows(rows, nowMs);
    // Side by side: while Postgres sums request counts (a full read keeps it busy for seconds), the state history is read and made spans.
    const [requests, spans] = await Promise.all([
      timed('counts', () => this.requests.refresh(wanted.groups, wanted.startsMs, nowMs)),
      timed('spans', () => this.slos.spansOf(rows, nowMs, (ids, from) => this.history.spans(ids, from, nowMs))),
    ]);
    // In batches, so a run's memory and statements stay bounded however many SLOs there are. A batch is
    // written while the next one is evaluated and the one before is published (Postgres, Redis and this
    // process work at once); one write and one publishing at a time, each batch published once it is written.
    // `ready`: the last batch written and the one before it published; the next batch's write waits for it (at most two in hand).
    let ready: Promise<void> = Promise.resolve();
    let published: Promise<void> = Promise.resolve();
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const views = await timed('evaluate', () => this.slos.evaluateMany(batch, { nowMs, requests, spans }));
      // Which figures moved: judged now, against what was stored before this run.
      const moved = views.map((v, j) => changed(batch[j], v, nowMs));
      await timed('store', () => ready);
      ready = Promise.all([timed('write', () => this.store(views.filter((_, j) => moved[j]))), published]).then(() => undefined);
      published = ready.then(() => timed('publish', () => this.publish(batch, views, moved, nowMs)));
      ready.catch(() => undefined);
      published.catch(() => undefined);
    }
    await timed('store', () => published);
    const totalMs = performance.now() - started;
    // After a full read: the minute rings for the next runs, now that this one's figures are out.
    void this.requests.settled();
    return {
      slos: rows.length,
      totalMs,
      loadMs: t.load,
      countsMs: t.counts,
      evaluateMs: t.evaluate,
      storeMs: t.store,
      fullRefresh: this.requests.lastRefreshWasFull,
      // Inside counts: closed days and hours, minutes; beside counts: state history; inside store: the UPDATE, signals and slo.update.
      detail: { closedMs: this.requests.lastTimings.closedMs, minutesMs: this.requests.lastTimings.minutesMs, spansMs: t.spans, writeMs: t.write, publishMs: t.publish },
    };
  }

  /** Raises or resolves a written batch's burn signals, publishes its slo.update; then keeps what is stored on the rows. */
  private async publish(batch: StoredSlo[], views: SloView[], moved: boolean[], nowMs: number): Promise<void> {
    const updates: RealtimeMessage[] = [];
    const signals: Promise<void>[] = [];
    for (let j = 0; j < batch.length; j++) {
      const c = this.compare(batch[j], views[j]);
      if (c.signals) signals.push(c.signals);
      // The view itself with `at` added (no copy: a spread costs microseconds per object on Node 20, for thousands).
      if (c.worth) updates.push({ event: RealtimeEvent.SloUpdate, payload: Object.assign(views[j] as unknown as Record<string, unknown>, { at: views[j].evaluatedAt }) });
    }
    // Side by side: SLOs that start or stop burning raise or resolve their signals in Postgres.
    await Promise.all(signals);
    await this.publisher.publishAll(updates);
    // What is stored now, for the next run's comparisons.
    for (let j = 0; j < batch.length; j++) {
      if (!moved[j]) continue;
      const v = views[j];
      Object.assign(batch[j], { evaluatedAt: new Date(nowMs), sliValue: v.sli.value, budgetRemaining: v.errorBudget.remaining, firing: firingOf(v), burnRates: v.burnRates });
    }
  }

  /**
   * Every SLO with its service's name and what the last evaluation stored.
   * Kept between runs: a run reads every SLO's id and update time, and whole
   * rows only for SLOs created or changed since (no ORM: thousands of rows).
   */
  private async load(): Promise<StoredSlo[]> {
    // Nothing created, changed or deleted since the last run (runs store figures without touching updated_at): the same list.
    const { rows: sums } = await this.sql.query<{ n: number; u: number | null }>(`SELECT count(*)::int AS n, extract(epoch FROM max(updated_at))::float8 AS u FROM slos`);
    const stamp = `${sums[0].n}|${sums[0].u}`;
    if (stamp === this.loadedStamp && this.loaded) return this.loaded;
    const { rows: heads } = await this.sql.query<{ id: string; u: number }>(`SELECT id, extract(epoch FROM updated_at)::float8 AS u FROM slos ORDER BY id`);
    const stale = heads.filter((h) => this.known.get(h.id)?.updatedAt !== h.u).map((h) => h.id);
    if (stale.length > 0) {
      // Most of them (the first load): every row, rather than tens of thousands of ids sent to be looked up.
      const all = stale.length > heads.length / 2;
      const { rows } = await this.sql.query<StoredSlo & { service_name: string; u: number }>(
        `SELECT o.id, o.service_id AS "serviceId", s.name AS service_name, o.name, o.description, o.objective, o.sli_type AS "sliType", o.threshold_ms AS "thresholdMs", o."window",
                o.window_days AS "windowDays", o.min_events AS "minEvents", o.created_at AS "createdAt", o.evaluated_at AS "evaluatedAt",
                o.sli_value AS "sliValue", o.budget_remaining AS "budgetRemaining", o.firing, o.burn_rates AS "burnRates", extract(epoch FROM o.updated_at)::float8 AS u
           FROM slos o JOIN services s ON s.id = o.service_id ${all ? '' : 'WHERE o.id = ANY($1::uuid[])'}`,
        all ? [] : [stale],
      );
      for (const { service_name, u, ...r } of rows) this.known.set(r.id, { updatedAt: u, slo: { ...r, service: { name: service_name } } });
    }
    const present = new Set(heads.map((h) => h.id));
    for (const id of this.known.keys()) if (!present.has(id)) this.known.delete(id);
    // An SLO deleted between the reads is left out (and the next run reads the list again).
    const list = heads.flatMap((h) => this.known.get(h.id)?.slo ?? []);
    this.loaded = list;
    this.loadedStamp = list.length === heads.length && heads.length === sums[0].n ? stamp : '';
    return list;
  }

  /**
   * Keeps a batch's results on the SLOs, in one statement. The rows go as
   * one JSON document (jsonb_to_recordset): serialising and parsing it costs
   * about half of eleven parameter arrays.
   */
  private async store(views: SloView[]): Promise<void> {
    if (views.length === 0) return;
    await this.sql.query(
      `UPDATE slos o SET evaluated_at = v.at, sli_value = v.sli, budget_remaining = v.remaining, burn_rates = v.burn, firing = string_to_array(v.firing, ',')
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, at timestamptz, sli float8, remaining float8, firing text, burn jsonb)
        WHERE o.id = v.id`,
      // firing: "page:1h,ticket:3d" (rule names hold no comma); '' is the empty list.
      [JSON.stringify(views.map((v) => ({ id: v.id, at: v.evaluatedAt, sli: v.sli.value, remaining: v.errorBudget.remaining, firing: firingOf(v).join(','), burn: v.burnRates })))],
    );
  }

  /**
   * Whether an SLO's change is worth an slo.update, and the raising or
   * resolving of its burn signals when a page or ticket starts or stops
   * (null when neither does: most SLOs, most runs; no promise for those).
   */
  private compare(before: { serviceId: string; budgetRemaining: number | null; firing: string[] }, view: SloView): { worth: boolean; signals: Promise<void> | null } {
    const firing = firingOf(view);
    const same = firing.join() === before.firing.join();
    return { worth: apart(before.budgetRemaining, view.errorBudget.remaining, 0.001) || !same, signals: same ? null : this.signal(before, view) };
  }

  private async signal(before: { serviceId: string; firing: string[] }, view: SloView): Promise<void> {
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
  }
}
