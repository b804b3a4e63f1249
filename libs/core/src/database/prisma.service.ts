import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { InjectConfig } from '../config/config.module.js';
import type { NinefoldConfig } from '../config/env.schema.js';
import { PrismaClient } from './generated/client.js';

/** The one Prisma client of a process (driver adapter `pg`, no native engine). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@InjectConfig() config: NinefoldConfig) {
    super({
      adapter: new PrismaPg({
        connectionString: config.DATABASE_URL,
        // Fail fast while Postgres is down instead of queueing requests forever.
        connectionTimeoutMillis: 3000,
        max: 20,
      }),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
