import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { installRoot } from '../lifecycle/paths.js';

/** Arbitrary but fixed: every Ninefold process takes this advisory lock to migrate. */
const MIGRATION_LOCK_ID = 7_362_001_913;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies pending `prisma/migrations/<name>/migration.sql` files in name order,
 * each in its own transaction, recording them in Prisma's `_prisma_migrations`
 * table exactly as `prisma migrate deploy` does (checksum = SHA-256 hex of the
 * file's bytes), so the database stays compatible with Prisma's own tooling.
 * A session advisory lock serialises concurrent callers (replicas starting
 * together): the second waits, then finds nothing left to do.
 *
 * Refuses to continue when an applied migration's file has changed or a
 * previous attempt failed half-way, naming the migration.
 */
export async function applyMigrations(
  databaseUrl: string,
  migrationsDir: string,
  log: (msg: string) => void = () => {},
): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum"              VARCHAR(64) NOT NULL,
        "finished_at"           TIMESTAMPTZ,
        "migration_name"        VARCHAR(255) NOT NULL,
        "logs"                  TEXT,
        "rolled_back_at"        TIMESTAMPTZ,
        "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
      )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
    );
    const done = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r.checksum]));
    const failed = rows.filter((r) => !r.finished_at && !r.rolled_back_at).map((r) => r.migration_name);
    if (failed.length > 0) {
      throw new Error(
        `migration ${failed.join(', ')} failed earlier and was not rolled back; fix the database, then mark it rolled back ` +
          `(UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '…') before starting again`,
      );
    }

    const names = (await readdir(migrationsDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    const applied: string[] = [];
    // An empty database gets its whole schema: one line for it, not one per migration (a first start is read by a person).
    const fresh = done.size === 0 && names.length > 0;
    if (fresh) log(`creating the database schema (${names.length} migrations)`);
    for (const name of names) {
      const sql = await readFile(path.join(migrationsDir, name, 'migration.sql'));
      const checksum = createHash('sha256').update(sql).digest('hex');
      const known = done.get(name);
      if (known !== undefined) {
        if (known !== checksum) {
          throw new Error(`migration ${name} was changed after it was applied (checksum ${known.slice(0, 12)}… in the database, ${checksum.slice(0, 12)}… on disk)`);
        }
        continue;
      }
      if (!fresh) log(`applying migration ${name}`);
      const id = randomUUID();
      await client.query('BEGIN');
      try {
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, checksum, name],
        );
        await client.query(sql.toString('utf8'));
        await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${name} failed and was rolled back: ${(err as Error).message}`);
      }
      applied.push(name);
    }
    return { applied, alreadyApplied: done.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** `prisma/migrations` of this installation, from the compiled (dist/…) or the source tree. */
export function defaultMigrationsDir(): string {
  return path.join(installRoot(), 'prisma', 'migrations');
}

/**
 * {@link applyMigrations}, waiting for Postgres when it is not reachable yet
 * (replicas often start before their database). Other errors stop at once.
 */
export async function applyMigrationsWithRetry(
  databaseUrl: string,
  migrationsDir: string = defaultMigrationsDir(),
  log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`),
  timeoutMs = 120_000,
): Promise<MigrationResult> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await applyMigrations(databaseUrl, migrationsDir, log);
      if (result.applied.length > 0) log(`applied ${result.applied.length} migration(s)${result.applied.length <= 3 ? `: ${result.applied.join(', ')}` : ''}`);
      return result;
    } catch (err) {
      const e = err as Error & { code?: string };
      const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', '57P03'].includes(e.code ?? '') || /timeout|terminated|ECONNREFUSED/i.test(e.message);
      if (!unreachable || Date.now() > deadline) throw err;
      log(`waiting for PostgreSQL (attempt ${attempt}): ${e.message}`);
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
    }
  }
}
