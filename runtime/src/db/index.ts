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
    db = await openPostgres(options.schema, options.databaseUrl, options.poolSize);
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
