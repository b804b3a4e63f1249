import { Global, Module } from '@nestjs/common';
import { AuditService } from './audit/audit.service.js';
import { ConfigModule } from './config/config.module.js';
import { PrismaService } from './database/prisma.service.js';
import { SqlPool } from './database/sql-pool.service.js';
import { LeaderElectionService } from './leader/leader-election.service.js';
import { MetricsService } from './metrics/metrics.service.js';
import { RedisService } from './redis/redis.service.js';

/** What every Ninefold process needs: config, Postgres, Redis, audit, metrics, leader election. */
@Global()
@Module({
  imports: [ConfigModule],
  providers: [PrismaService, SqlPool, RedisService, AuditService, MetricsService, LeaderElectionService],
  exports: [ConfigModule, PrismaService, SqlPool, RedisService, AuditService, MetricsService, LeaderElectionService],
})
export class CoreModule {}
