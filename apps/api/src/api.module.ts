import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule, config, CoreModule, loggerParams, QueuesModule } from '#core';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { KeysController } from './keys/keys.controller.js';
import { HomeController } from './ops/home.controller.js';
import { OpsController } from './ops/ops.controller.js';
import { ReadinessService } from './ops/readiness.service.js';

@Module({
  imports: [LoggerModule.forRoot(loggerParams(config(), 'api')), CoreModule, QueuesModule, AuthModule],
  controllers: [HomeController, OpsController, KeysController],
  providers: [ReadinessService, { provide: APP_FILTER, useClass: AllExceptionsFilter }],
})
export class ApiModule {}
