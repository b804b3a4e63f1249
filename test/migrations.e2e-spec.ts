import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations, defaultMigrationsDir } from '../libs/core/src/database/migrator.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { testEnv } from './support/env.js';

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

/** The committed migrations: directory name and lowercase hex SHA-256 of migration.sql's bytes. */
async function committedMigrations(dir: string): Promise<{ name: string; checksum: string }[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => ({ name, checksum: createHash('sha256').update(await fs.readFile(path.join(dir, name, 'migration.sql'))).digest('hex') })),
  );
}

async function tableNames(db: TestDatabase): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`);
  return rows.map((r) => r.table_name);
}

/** The migrator against real PostgreSQL: what it creates, records and refuses. */
describe('database migrations (e2e)', () => {
  const migrationsDir = defaultMigrationsDir();
  const databases: TestDatabase[] = [];
  const tempDirs: string[] = [];
  let committed: { name: string; checksum: string }[];

  async function emptyDatabase(): Promise<TestDatabase> {
    const db = await createTestDatabase({ fromTemplate: false });
    databases.push(db);
    return db;
  }

  beforeAll(async () => {
    committed = await committedMigrations(migrationsDir);
  });

  afterAll(async () => {
    for (const db of databases) await db.drop().catch(() => undefined);
    for (const dir of tempDirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('has committed migrations to test', () => {
    expect(committed.length).toBeGreaterThan(0);
  });

  it('migrates an empty database and records every migration as Prisma does', async () => {
    const db = await emptyDatabase();
    expect(await tableNames(db)).toEqual([]);

    const result = await applyMigrations(db.url, migrationsDir);
    expect(result).toEqual({ applied: committed.map((m) => m.name), alreadyApplied: 0 });

    const tables = await tableNames(db);
    expect(tables).toEqual(expect.arrayContaining(['_prisma_migrations', 'api_keys', 'audit_log']));

    const { rows } = await db.query<MigrationRow>('SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
    expect(rows.map((r) => ({ name: r.migration_name, checksum: r.checksum }))).toEqual(committed);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
      expect(row.started_at).toBeInstanceOf(Date);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    }

    // The same table Prisma's own `migrate deploy` creates, so Prisma's tooling keeps working.
    const columns = await db.query<{ column_name: string; data_type: string; character_maximum_length: number | null; is_nullable: string; column_default: string | null }>(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    );
    expect(columns.rows.map(({ column_name, data_type, character_maximum_length, is_nullable }) => ({ column_name, data_type, character_maximum_length, is_nullable }))).toEqual([
      { column_name: 'id', data_type: 'character varying', character_maximum_length: 36, is_nullable: 'NO' },
      { column_name: 'checksum', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'NO' },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES' },
      { column_name: 'migration_name', data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO' },
      { column_name: 'logs', data_type: 'text', character_maximum_length: null, is_nullable: 'YES' },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES' },
      { column_name: 'started_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO' },
      { column_name: 'applied_steps_count', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO' },
    ]);
    const defaults = Object.fromEntries(columns.rows.map((c) => [c.column_name, c.column_default]));
    expect(defaults.started_at).toBe('now()');
    expect(defaults.applied_steps_count).toBe('0');

    // Run again: nothing to do, nothing recorded twice.
    const again = await applyMigrations(db.url, migrationsDir);
    expect(again).toEqual({ applied: [], alreadyApplied: committed.length });
    const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"');
    expect(count.rows[0].n).toBe(committed.length);
  });

  it('applies each migration exactly once when two callers migrate the same empty database at once', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([applyMigrations(db.url, migrationsDir), applyMigrations(db.url, migrationsDir)]);
    // One of them did the work, the other found it done.
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, committed.length]);

    const { rows } = await db.query<{ migration_name: string; n: number }>(
      'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY migration_name ORDER BY migration_name',
    );
    expect(rows).toEqual(committed.map((m) => ({ migration_name: m.name, n: 1 })));
    expect(await tableNames(db)).toEqual(expect.arrayContaining(['api_keys', 'audit_log']));
  });

  it('refuses to run when an applied migration was changed, naming it', async () => {
    const db = await emptyDatabase();
    await applyMigrations(db.url, migrationsDir);
    const target = committed[committed.length - 1].name;
    await db.query(`UPDATE "_prisma_migrations" SET checksum = $1 WHERE migration_name = $2`, ['0'.repeat(64), target]);

    await expect(applyMigrations(db.url, migrationsDir)).rejects.toThrow(target);
    await expect(applyMigrations(db.url, migrationsDir)).rejects.toThrow(/changed/);
  });

  it('rejects a failing migration, naming it, and leaves no record and no partial table behind', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ninefold-migrations-'));
    tempDirs.push(dir);
    await fs.cp(migrationsDir, dir, { recursive: true });
    const bad = '99999999999999_bad';
    await fs.mkdir(path.join(dir, bad));
    // A statement that succeeds, then one that fails: the first must be rolled back with it.
    await fs.writeFile(path.join(dir, bad, 'migration.sql'), 'CREATE TABLE partial_bad_table (id int);\nCREATE TABLE x (;\n');

    const db = await emptyDatabase();
    await expect(applyMigrations(db.url, dir)).rejects.toThrow(bad);

    const { rows } = await db.query<MigrationRow>('SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(committed.map((m) => m.name));
    expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
    const tables = await tableNames(db);
    expect(tables).not.toContain('partial_bad_table');
    expect(tables).not.toContain('x');
    expect(tables).toEqual(expect.arrayContaining(['api_keys', 'audit_log']));

    // It fails the same way next time (nothing half-recorded blocks or hides it), and the good ones stay applied.
    await expect(applyMigrations(db.url, dir)).rejects.toThrow(bad);
    expect((await db.query('SELECT 1 FROM "_prisma_migrations" WHERE migration_name = $1', [bad])).rowCount).toBe(0);
  });

  it('has no drift: the committed migrations produce exactly prisma/schema.prisma', async () => {
    const { diffMigrationsToSchema } = (await import('../scripts/lib/schema-engine.mjs')) as { diffMigrationsToSchema: (adminUrl: string) => Promise<string> };
    const sql = await diffMigrationsToSchema(testEnv().pgAdminUrl);
    expect(sql).toBe('');
  }, 120_000);
});
