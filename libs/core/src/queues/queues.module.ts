import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Global, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { config } from '../config/config.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { DEFAULT_JOB_OPTIONS, QueueName } from './queues.js';

const ALL_QUEUES = Object.values(QueueName);
const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/** Exposes `ninefold_queue_jobs{queue,state}` on /metrics, read from Redis at scrape time. */
@Injectable()
export class QueueMetrics implements OnModuleInit {
  private readonly logger = new Logger('Queues');

  constructor(
    private readonly metrics: MetricsService,
    @Inject(getQueueToken(QueueName.Maintenance)) private readonly maintenance: Queue,
    @Inject(getQueueToken(QueueName.Checks)) private readonly checks: Queue,
  ) {}

  onModuleInit(): void {
    const queues = [this.maintenance, this.checks];
    for (const q of queues) {
      // Without a listener, connection errors would be printed raw on every retry;
      // say it once per outage instead (/readyz reports it too).
      let down = false;
      q.on('error', (err: Error) => {
        if (!down) this.logger.warn({ queue: q.name, err: err.message }, 'queue cannot reach Redis');
        down = true;
      });
      void q.waitUntilReady().then(() => {
        down = false;
      }, () => undefined);
    }
    new Gauge({
      name: 'ninefold_queue_jobs',
      help: 'Jobs in each BullMQ queue, by state.',
      labelNames: ['queue', 'state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        await Promise.all(
          queues.map(async (q) => {
            try {
              const counts = await q.getJobCounts(...STATES);
              for (const state of STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
            } catch {
              // Redis down: keep the last values; /readyz reports the outage.
            }
          }),
        );
      },
    });
  }
}

/** BullMQ on Ninefold's Redis, with every queue registered and measured. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      useFactory: () => {
        const c = config();
        return {
          connection: { url: c.REDIS_URL, maxRetriesPerRequest: null, enableOfflineQueue: true },
          prefix: `${c.NINEFOLD_REDIS_PREFIX}:bull`,
          defaultJobOptions: DEFAULT_JOB_OPTIONS,
        };
      },
    }),
    BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
  ],
  providers: [QueueMetrics],
  exports: [BullModule],
})
export class QueuesModule {}
