import { hostname } from 'node:os';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService, type StreamEntry, StreamGroup } from '#core';
import { ClusterWatch } from './cluster-watch.service.js';
import { InstanceStore } from './instance-store.js';
import { type InstanceChange, StateChanges } from './state-changes.service.js';

const READ_COUNT = 500;
const CLAIM_EVERY_MS = 15_000;
const ABANDONED_AFTER_MS = 30_000;

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

  private async run(): Promise<void> {
    let ready = false;
    let failures = 0;
    let lastWarn = 0;
    let lastClaim = 0;
    let retryOwn = true;
    while (this.running) {
      try {
        if (!ready) {
          await this.group.ensure(this.conn);
          ready = true;
        }
        let entries: StreamEntry[] = [];
        if (retryOwn) {
          entries = await this.group.readOwnPending(this.conn, this.consumer, READ_COUNT);
          if (entries.length === 0) retryOwn = false;
        }
        if (entries.length === 0 && Date.now() - lastClaim > CLAIM_EVERY_MS) {
          lastClaim = Date.now();
          entries = await this.group.claimAbandoned(this.conn, this.consumer, ABANDONED_AFTER_MS, READ_COUNT);
        }
        if (entries.length === 0) entries = await this.group.read(this.conn, this.consumer, READ_COUNT, 1000);
        if (entries.length > 0) {
          const changes = entries.flatMap((e) => JSON.parse(e.fields.c) as InstanceChange[]);
          // Live views first; an entry retried after a Postgres failure is not announced twice by this consumer.
          const fresh = entries.filter((e) => !this.announced.has(e.id));
          await this.changes.announce(fresh.flatMap((e) => JSON.parse(e.fields.c) as InstanceChange[]));
          for (const e of fresh) this.announced.add(e.id);
          await this.changes.record(changes);
          for (const e of entries) this.announced.delete(e.id);
          await this.clusters.evaluate([...new Set(changes.map((c) => c.serviceId))], Date.now());
          await this.group.acknowledge(this.conn, entries.map((e) => e.id));
        }
        failures = 0;
      } catch (err) {
        if (!this.running) break; // shutting down: the connection was closed under a blocking read
        failures++;
        if (/NOGROUP/.test((err as Error).message)) ready = false;
        if (failures === 1 || Date.now() - lastWarn > 10_000) {
          lastWarn = Date.now();
          this.logger.warn({ err: (err as Error).message, failures }, 'recording state changes failed; retrying');
        }
        retryOwn = true;
        await new Promise((r) => setTimeout(r, Math.min(200 * failures, 2000)));
      }
    }
  }
}
