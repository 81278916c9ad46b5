/**
 * Storage port. Every subgraph talks to Postgres through this interface; two adapters implement it:
 * PGlite (embedded, one database directory per service under DATA_DIR) and node-postgres
 * (DATABASE_URL, one schema per service in a shared database). Both run the same SQL migrations.
 */

export interface QueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface Database extends Queryable {
  /** `pglite` or `postgres`: tests and logs say which adapter ran. */
  readonly kind: 'pglite' | 'postgres';
  /** Postgres schema that holds this service's tables (search_path is set to it). */
  readonly schema: string;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Statements inside must use the `tx` argument, never the database itself.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Postgres schema name for the service, e.g. `identity`. Letters, digits and `_` only. */
  readonly schema: string;
  /** PostgreSQL connection string; when absent the embedded PGlite adapter is used. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data directory (ignored for PostgreSQL). `memory://` keeps everything in memory. */
  readonly dataDir?: string | undefined;
  /** Directory of `NNN_name.sql` migration files, applied in order. */
  readonly migrationsDir?: string | undefined;
  /** Prefix for the schema name on PostgreSQL; defaults to env DATABASE_SCHEMA_PREFIX. */
  readonly schemaPrefix?: string | undefined;
  /** Maximum connections in the PostgreSQL pool. */
  readonly poolSize?: number | undefined;
}

const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!schemaNamePattern.test(schema)) {
    throw new Error(`Invalid schema name "${schema}": use lower-case letters, digits and underscores.`);
  }
}
