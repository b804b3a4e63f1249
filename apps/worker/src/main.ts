import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { applyMigrationsWithRetry, config, ConfigError, LeaderElectionService, installShutdownWatchdog } from '#core';
import { WorkerModule } from './worker.module.js';

/**
 * The worker: BullMQ processors and leader-only schedules, no HTTP. Run any
 * number of replicas; each job is processed by one of them, each singleton
 * runs on the elected leader only.
 */
async function bootstrap(): Promise<void> {
  const cfg = config();
  if (cfg.NINEFOLD_MIGRATE_ON_START) await applyMigrationsWithRetry(cfg.DATABASE_URL);
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  installShutdownWatchdog(cfg.SHUTDOWN_GRACE_SECONDS, 'worker');
  await app.init();
  new NestLogger('Bootstrap').log({ owner: app.get(LeaderElectionService).owner }, 'Ninefold worker started');
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`ninefold worker: ${err.message}\n`);
  } else {
    process.stderr.write(`ninefold worker: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
