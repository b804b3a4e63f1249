import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig, type LeaderElection, LeaderElectionService, type NinefoldConfig, RedisService, SqlPool } from '#core';
import { AvailabilityRollups } from './availability-rollups.js';
import { InstanceStore } from './instance-store.js';

const DELETE_BATCH = 10_000;

/**
 * Leader-only upkeep of the registry: removes self-registered instances that
 * have been DOWN longer than DEREGISTER_AFTER_SECONDS (like Consul's
 * deregister_critical_service_after; declared instances stay until
 * deregistered), and deletes raw heartbeats older than
 * HEARTBEAT_RETENTION_HOURS, per-minute rollups older than
 * ROLLUP_MINUTE_RETENTION_HOURS, per-hour ones older than
 * ROLLUP_HOUR_RETENTION_DAYS and per-day ones older than
 * ROLLUP_DAY_RETENTION_DAYS, in bounded batches. Every minute it also rolls
 * closed hours and days of service and instance availability up
 * (availability-rollups.ts).
 */
@Injectable()
export class RegistryHousekeeping implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RegistryHousekeeping.name);
  private election!: LeaderElection;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastRetention = 0;

  constructor(
    private readonly sql: SqlPool,
    private readonly store: InstanceStore,
    private readonly rollups: AvailabilityRollups,
    private readonly redis: RedisService,
    private readonly leaders: LeaderElectionService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.election = this.leaders.elect('detector');
    const everyMs = Math.min(30_000, Math.max(1000, (this.config.DEREGISTER_AFTER_SECONDS * 1000) / 2));
    this.timer = setInterval(() => {
      if (this.running || !this.election.isLeader) return;
      this.running = this.run()
        .catch((err: Error) => this.logger.warn({ err: err.message }, 'registry housekeeping failed; retrying'))
        .finally(() => (this.running = null));
    }, everyMs);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async run(): Promise<void> {
    await this.deregisterLongDown();
    if (Date.now() - this.lastRetention > 60_000) {
      this.lastRetention = Date.now();
      const rolled = await this.rollups.rollUp();
      if (rolled.services.hours + rolled.services.days + rolled.instances.hours + rolled.instances.days > 0) this.logger.debug(rolled, 'availability rolled up');
      await this.applyRetention();
    }
  }

  private async deregisterLongDown(): Promise<void> {
    const { rows } = await this.sql.query<{ id: string; service_id: string; service: string; name: string }>(
      `DELETE FROM instances i USING services s
        WHERE s.id = i.service_id AND i.id IN (
          SELECT id FROM instances WHERE self_registered AND state = 'DOWN' AND state_since < now() - make_interval(secs => $1) LIMIT 1000)
        RETURNING i.id, i.service_id, s.name AS service, i.name`,
      [this.config.DEREGISTER_AFTER_SECONDS],
    );
    for (const r of rows) {
      await this.store.remove(r.id, r.service_id);
      await this.redis.client.publish(this.redis.key('registry', 'changed'), `${r.service}/${r.name}`);
      this.logger.log({ service: r.service, instance: r.name }, `deregistered: self-registered and DOWN for more than ${this.config.DEREGISTER_AFTER_SECONDS}s`);
    }
  }

  private async applyRetention(): Promise<void> {
    const c = this.config;
    const minutes = `${c.ROLLUP_MINUTE_RETENTION_HOURS} hours`;
    const hours = `${c.ROLLUP_HOUR_RETENTION_DAYS} days`;
    const days = `${c.ROLLUP_DAY_RETENTION_DAYS} days`;
    const deleted = {
      heartbeats: await this.deleteOlder('heartbeats', 'received_at', `${c.HEARTBEAT_RETENTION_HOURS} hours`),
      minuteRollups: await this.deleteAllOlder([['request_rollups', 'minute'], ['dependency_rollups', 'minute'], ['rate_limit_rollups', 'minute']], minutes),
      hourRollups: await this.deleteAllOlder([['request_hours', 'hour'], ['availability_hours', 'hour'], ['instance_availability_hours', 'hour']], hours),
      dayRollups: await this.deleteAllOlder([['request_days', 'day'], ['availability_days', 'day'], ['instance_availability_days', 'day']], days),
    };
    await this.sql.query(`DELETE FROM ingested_batches WHERE ingested_at < now() - interval '1 day'`);
    if (Object.values(deleted).some((n) => n > 0)) this.logger.log(deleted, 'deleted data past its retention');
  }

  /** {@link deleteOlder} over several tables (and their period columns) of one retention; how many rows went. */
  private async deleteAllOlder(tables: [table: string, column: string][], age: string): Promise<number> {
    let total = 0;
    for (const [table, column] of tables) total += await this.deleteOlder(table, column, age);
    return total;
  }

  /** Deletes the rows of `table` whose `column` is older than `age`, DELETE_BATCH at a time (no long lock, no huge transaction). */
  private async deleteOlder(table: string, column: string, age: string): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.sql.query(
        `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${column} < now() - $1::interval LIMIT ${DELETE_BATCH}))`,
        [age],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < DELETE_BATCH) return total;
    }
  }
}
