import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { config, CoreModule, loggerParams, QueuesModule } from '#core';
import { RegistryWorkerModule } from '#registry';
import { SloWorkerModule } from '#slo';
import { ChecksProcessor } from './processors/checks.processor.js';
import { MaintenanceProcessor } from './processors/maintenance.processor.js';
import { MaintenanceSchedule } from './schedules/maintenance.schedule.js';
import { WorkerMetricsServer } from './metrics.server.js';

@Module({
  imports: [LoggerModule.forRoot(loggerParams(config(), 'worker')), ScheduleModule.forRoot(), CoreModule, QueuesModule, RegistryWorkerModule, SloWorkerModule],
  providers: [MaintenanceProcessor, MaintenanceSchedule, ChecksProcessor, WorkerMetricsServer],
})
export class WorkerModule {}
