import { Module } from '@nestjs/common';
import { RegistryModule } from '#registry';
import { SloService } from './slo.service.js';

/** SLO definitions and their evaluation. */
@Module({
  imports: [RegistryModule],
  providers: [SloService],
  exports: [SloService],
})
export class SloModule {}
