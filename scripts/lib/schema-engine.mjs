// Prisma's schema engine in WebAssembly (@prisma/schema-engine-wasm), driven
// through the pg driver adapter, so migrations can be diffed and created on
// machines where Prisma's native engine cannot be downloaded. Developer-time
// only: nothing at run time depends on this file.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';

const require = createRequire(import.meta.url);
/** ColumnTypeEnum.Character of @prisma/driver-adapter-utils. */
const CHARACTER = 6;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const schemaPath = path.join(root, 'prisma', 'schema.prisma');
export const migrationsDir = path.join(root, 'prisma', 'migrations');

/** The engine reports Rust panics through this global; keep the message for the error we throw. */
const panics = { message: '', set_message(m) { this.message = m; } };

async function loadEngine() {
  globalThis.PRISMA_WASM_PANIC_REGISTRY = panics;
  // The package's own entry imports the .wasm file as an ES module, which Node 20
  // only allows behind --experimental-wasm-modules; instantiate it by hand instead.
  const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
  const mod = new WebAssembly.Module(fs.readFileSync(path.join(dir, 'schema_engine_bg.wasm')));
  const imports = {};
  for (const imp of WebAssembly.Module.imports(mod)) imports[imp.module] ??= bg;
  const instance = new WebAssembly.Instance(mod, imports);
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return bg.SchemaEngine;
}

/**
 * Mends two rough edges of @prisma/adapter-pg 7.x as a schema-engine adapter:
 * - catalog columns of type "char" (oid 18) are rejected as unsupported: read them as text;
 * - executeScript splits scripts on ";" (breaking function bodies): send each script whole.
 */
function mend(adapter) {
  // queryRaw calls performIO and then maps each column's oid; "char" columns are
  // read as text there and marked Character (6) in the result, which the engine expects.
  let charColumns = [];
  const performIO = adapter.performIO.bind(adapter);
  adapter.performIO = async (query) => {
    const result = await performIO(query);
    charColumns = [];
    result.fields.forEach((f, i) => {
      if (f.dataTypeID === 18) {
        f.dataTypeID = 25;
        charColumns.push(i);
      }
    });
    return result;
  };
  const queryRaw = adapter.queryRaw.bind(adapter);
  adapter.queryRaw = async (query) => {
    const result = await queryRaw(query);
    for (const i of charColumns) result.columnTypes[i] = CHARACTER;
    charColumns = [];
    return result;
  };
  if (adapter.executeScript) {
    adapter.executeScript = async (script) => {
      try {
        await adapter.client.query(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
  }
  if (adapter.startTransaction) {
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args) => mend(await start(...args));
  }
  return adapter;
}

/** `opened` collects every connection the engine makes, so they can be closed after it: `engine.free()` does not. */
async function adapterFactory(adminUrl, opened) {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');
  const pg = (await import('pg')).default;
  const base = new PrismaPg({ connectionString: adminUrl });
  const factory = {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => {
      const adapter = mend(await base.connect());
      opened.push(adapter);
      return adapter;
    },
    // A shadow database we create and drop ourselves: the adapter's own drops it
    // while its pool is still connected, which fails.
    connectToShadowDb: async () => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      const name = `ninefold_shadow_${randomUUID().replaceAll('-', '')}`;
      await admin.query(`CREATE DATABASE "${name}"`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const shadow = mend(await new PrismaPg({ connectionString: url.toString() }).connect());
      const dispose = shadow.dispose.bind(shadow);
      let disposed = false;
      shadow.dispose = async () => {
        if (disposed) return;
        disposed = true;
        await dispose();
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.end();
      };
      opened.push(shadow);
      return shadow;
    },
  };
  return bindMigrationAwareSqlAdapterFactory(factory);
}

/** The committed migrations, in the shape the engine takes. */
export function migrationList() {
  const dirs = fs.existsSync(migrationsDir)
    ? fs.readdirSync(migrationsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    : [];
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : 'provider = "postgresql"\n' },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((d) => ({
      path: d,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: fs.readFileSync(path.join(migrationsDir, d, 'migration.sql'), 'utf8') } },
    })),
  };
}

/**
 * The SQL that takes a database built from the committed migrations to the
 * schema in prisma/schema.prisma; empty when they agree. Needs a PostgreSQL
 * server (`adminUrl` may create and drop a shadow database).
 * @returns {Promise<string>}
 */
export async function diffMigrationsToSchema(adminUrl) {
  const SchemaEngine = await loadEngine();
  const schema = fs.readFileSync(schemaPath, 'utf8');
  const opened = [];
  const engine = await SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, () => {}, await adapterFactory(adminUrl, opened));
  try {
    const result = await engine.diff({
      from: { tag: 'migrations', ...migrationList() },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: true,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.exitCode === 2 ? (result.stdout ?? '') : '';
  } catch (err) {
    if (panics.message) err.message = `${err.message}: schema engine panicked: ${panics.message}`;
    throw err;
  } finally {
    engine.free();
    for (const adapter of opened) await adapter.dispose().catch(() => {});
  }
}
