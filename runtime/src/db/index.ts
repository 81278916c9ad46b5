import path from 'node:path';
import type { Database, OpenDatabaseOptions } from './database.ts';
import { migrate } from './migrations.ts';

export type { Database, Queryable, QueryResult, OpenDatabaseOptions } from './database.ts';
export { migrate, loadMigrations, type Migration } from './migrations.ts';

/**
 * Opens the service's database: PostgreSQL when `databaseUrl` is set, else PGlite under `dataDir`,
 * then applies the migrations in `migrationsDir` if given.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let db: Database;
  if (options.databaseUrl) {
    const { openPostgres } = await import('./postgres.ts');
    // Several deployments (or test runs) may share one PostgreSQL database: DATABASE_SCHEMA_PREFIX
    // keeps their schemas apart (e.g. `e2e_1a2b_identity`).
    const prefix = options.schemaPrefix ?? process.env['DATABASE_SCHEMA_PREFIX'] ?? '';
    db = await openPostgres(prefix + options.schema, options.databaseUrl, options.poolSize);
  } else {
    const { openPglite } = await import('./pglite.ts');
    const dataDir = options.dataDir ?? 'memory://';
    db = await openPglite(options.schema, dataDir.startsWith('memory://') ? dataDir : path.resolve(dataDir));
  }
  if (options.migrationsDir) {
    try {
      await migrate(db, options.migrationsDir);
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
  }
  return db;
}
