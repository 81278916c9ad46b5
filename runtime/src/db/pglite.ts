import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { assertSchemaName, type Database, type Queryable, type QueryResult } from './database.ts';

/**
 * Embedded adapter. PGlite is single-connection: queries are serialized by PGlite itself, and a
 * transaction holds the connection until it ends, so concurrent requests queue instead of interleave.
 */
export async function openPglite(schema: string, dataDir: string): Promise<Database> {
  assertSchemaName(schema);
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  await pg.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}", public;`);

  const run = async <Row>(
    target: Pick<PGlite, 'query' | 'exec'>,
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<Row>> => {
    if (!params || params.length === 0) {
      // Without parameters use the simple-query protocol, like pg does: a migration file holds
      // several statements, which the extended protocol (PGlite's `query`) refuses.
      const results = await target.exec(sql);
      const last = results[results.length - 1];
      const rows = (last?.rows ?? []) as Row[];
      return { rows, rowCount: last?.affectedRows ?? rows.length };
    }
    const result = await target.query<Row>(sql, [...params]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };

  return {
    kind: 'pglite',
    schema,
    query: (sql, params) => run(pg, sql, params),
    transaction: (work) =>
      pg.transaction(async (tx) => {
        const queryable: Queryable = { query: (sql, params) => run(tx, sql, params) };
        return work(queryable);
      }),
    close: () => pg.close(),
  };
}
