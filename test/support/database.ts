import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testEnv } from './env.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** A client on this database, for assertions on what was stored. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

function urlFor(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * A new database for one test file: a copy of the migrated template
 * (`fromTemplate`, the default) or an empty one (for migration tests).
 */
export async function createTestDatabase(opts: { fromTemplate?: boolean } = {}): Promise<TestDatabase> {
  const env = testEnv();
  const name = `nf_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: env.pgAdminUrl });
  await admin.connect();
  try {
    await admin.query(opts.fromTemplate === false ? `CREATE DATABASE "${name}"` : `CREATE DATABASE "${name}" TEMPLATE "${env.templateDb}"`);
  } finally {
    await admin.end();
  }
  const url = urlFor(env.pgAdminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    name,
    url,
    query: (sql, params) => pool.query(sql, params),
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: env.pgAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => c.end());
    },
  };
}

/** A Redis key prefix no other test file uses. */
export function uniqueRedisPrefix(): string {
  return `nft${randomBytes(4).toString('hex')}`;
}
