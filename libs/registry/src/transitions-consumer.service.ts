import { hostname } from 'node:os';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { consume, InjectConfig, type NinefoldConfig, RedisService, StreamGroup, WriteBehind } from '#core';
import { ClusterWatch } from './cluster-watch.service.js';
import { InstanceStore } from './instance-store.js';
import { type InstanceChange, StateChanges } from './state-changes.service.js';

const READ_COUNT = 500;
/** Changes announced and not yet recorded beyond which a read waits for the recorder. */
const MAX_UNRECORDED_CHANGES = 20_000;

/**
 * Drains the transitions outbox (written atomically with each state change
 * in Redis) into Postgres history, `instance.state` / `service.state` events,
 * signals and cluster checks. An entry is acknowledged only after all of that
 * succeeded, so a Postgres outage delays the history, it does not lose it;
 * detection itself goes on in Redis meanwhile.
 *
 * Each read is announced (`instance.state`) at once and recorded behind it
 * ({@link WriteBehind}): a thousand instances failing together reach live
 * views without waiting for the history and service states of the first
 * reads, and a recorder that fell behind records what waits in one go (one
 * service re-evaluation per service, not one per read). While Postgres is
 * down, new changes are still read and announced between retries, and
 * recorded once it is back.
 */
@Injectable()
export class TransitionsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TransitionsConsumer.name);
  private readonly consumer = `${hostname()}:${process.pid}`;
  private readonly group: StreamGroup;
  private conn!: Redis;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly announced = new Set<string>();
  private readonly recorder = new WriteBehind<{ ids: string[]; changes: InstanceChange[] }>({
    write: (reads) => this.record(reads),
    maxWeight: MAX_UNRECORDED_CHANGES,
    itemsPerWrite: Number.POSITIVE_INFINITY,
  });

  constructor(
    private readonly redis: RedisService,
    store: InstanceStore,
    private readonly changes: StateChanges,
    private readonly clusters: ClusterWatch,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {
    this.group = new StreamGroup(store.transitionsKey, 'apply');
  }

  onApplicationBootstrap(): void {
    this.conn = this.redis.connect('transitions', { maxRetriesPerRequest: null, commandTimeout: undefined });
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.recorder.settled();
  }

  private run(): Promise<void> {
    return consume(this.group, {
      conn: this.conn,
      consumer: this.consumer,
      count: READ_COUNT,
      blockMs: 1000,
      abandonedAfterMs: this.config.WORKER_TAKEOVER_SECONDS * 1000,
      running: () => this.running,
      logger: this.logger,
      what: 'recording state changes',
      // Announcing needs only Redis: while Postgres is down, new changes are still announced between retries of the history.
      readNewWhileFailing: true,
      handle: async (entries) => {
        const batch = entries.map((e) => ({ id: e.id, changes: JSON.parse(e.fields.c) as InstanceChange[] }));
        // Live views first; an entry retried after a Postgres failure is not announced twice by this consumer.
        const fresh = batch.filter((e) => !this.announced.has(e.id));
        await this.changes.announce(fresh.flatMap((e) => e.changes));
        for (const e of fresh) this.announced.add(e.id);
        const ids = batch.map((e) => e.id);
        const changes = batch.flatMap((e) => e.changes);
        this.recorder.push(ids, { ids, changes }, changes.length);
        await this.recorder.room();
      },
      behind: { writer: this.recorder, conn: this.redis.client },
      // Says it is alive, so that if this worker is killed, another takes its entries over at once (not after WORKER_TAKEOVER_SECONDS).
      alive: { conn: this.redis.client },
    });
  }

  /** History, signals, service states and cluster checks of announced reads; then their entries are acknowledged. */
  private async record(reads: { ids: string[]; changes: InstanceChange[] }[]): Promise<void> {
    const ids = reads.flatMap((r) => r.ids);
    const changes = reads.flatMap((r) => r.changes);
    await this.changes.record(changes);
    for (const id of ids) this.announced.delete(id);
    await this.clusters.evaluate([...new Set(changes.map((c) => c.serviceId))], Date.now());
    // Not over the blocking read's connection, where it would wait for the read.
    await this.group.acknowledge(this.redis.client, ids);
  }
}
