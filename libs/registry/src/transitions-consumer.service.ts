import { hostname } from 'node:os';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { consume, RedisService, StreamGroup } from '#core';
import { ClusterWatch } from './cluster-watch.service.js';
import { InstanceStore } from './instance-store.js';
import { type InstanceChange, StateChanges } from './state-changes.service.js';

const READ_COUNT = 500;

/**
 * Drains the transitions outbox (written atomically with each state change
 * in Redis) into Postgres history, `instance.state` / `service.state` events,
 * signals and cluster checks. An entry is acknowledged only after all of that
 * succeeded, so a Postgres outage delays the history, it does not lose it;
 * detection itself goes on in Redis meanwhile.
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

  constructor(
    private readonly redis: RedisService,
    store: InstanceStore,
    private readonly changes: StateChanges,
    private readonly clusters: ClusterWatch,
  ) {
    this.group = new StreamGroup(store.transitionsKey, 'apply');
  }

  onApplicationBootstrap(): void {
    this.conn = this.redis.connect('transitions', { maxRetriesPerRequest: null });
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private run(): Promise<void> {
    return consume(this.group, {
      conn: this.conn,
      consumer: this.consumer,
      count: READ_COUNT,
      blockMs: 1000,
      running: () => this.running,
      logger: this.logger,
      what: 'recording state changes',
      handle: async (entries, ack) => {
        const batch = entries.map((e) => ({ id: e.id, changes: JSON.parse(e.fields.c) as InstanceChange[] }));
        const changes = batch.flatMap((e) => e.changes);
        // Live views first; an entry retried after a Postgres failure is not announced twice by this consumer.
        const fresh = batch.filter((e) => !this.announced.has(e.id));
        await this.changes.announce(fresh.flatMap((e) => e.changes));
        for (const e of fresh) this.announced.add(e.id);
        await this.changes.record(changes);
        for (const e of entries) this.announced.delete(e.id);
        await this.clusters.evaluate([...new Set(changes.map((c) => c.serviceId))], Date.now());
        await ack(entries.map((e) => e.id));
      },
    });
  }
}
