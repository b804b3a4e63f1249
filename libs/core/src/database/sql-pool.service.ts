import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { InjectConfig } from '../config/config.module.js';
import type { NinefoldConfig } from '../config/env.schema.js';

/**
 * A plain `pg` pool for the few hot-path statements Prisma cannot express
 * efficiently: multi-row writes through `unnest($1::…[])` arrays and
 * `INSERT … ON CONFLICT … DO UPDATE` rollups of thousands of rows at once
 * (one statement instead of thousands of Prisma calls). Everything else uses
 * {@link PrismaService}.
 */
@Injectable()
export class SqlPool implements OnApplicationShutdown {
  readonly pool: pg.Pool;

  constructor(@InjectConfig() config: NinefoldConfig) {
    this.pool = new pg.Pool({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 3000, max: 10 });
    // An idle client that loses its server emits here; the pool replaces it. Without a listener it would crash the process.
    this.pool.on('error', () => undefined);
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, params);
  }

  /** Runs `fn` in one transaction on one connection. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose server goes away (reset, cut) emits 'error' on itself, not on the pool: without a
    // listener that crashes the process (a worker killed by a Postgres hiccup). The query in flight fails anyway.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that failed mid-transaction (server gone, network cut) must not go back to the pool.
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** In the last phase of shutdown, once the consumers stopped (as RedisService). */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
