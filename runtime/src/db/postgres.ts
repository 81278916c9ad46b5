import pg from 'pg';
import { assertSchemaName, type Database, type Queryable, type QueryResult } from './database.ts';

// Return int8 (bigint) and numeric as strings: money never passes through a JS number.
// (pg's default for both is already string; set explicitly so nobody "fixes" it later.)
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => value);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value: string) => value);

/** Real PostgreSQL adapter: one pool per service, search_path pinned to the service's schema. */
export async function openPostgres(schema: string, databaseUrl: string, poolSize = 10): Promise<Database> {
  assertSchemaName(schema);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    options: `-c search_path="${schema}",public`,
  });
  // Surface idle-client errors in logs instead of crashing the process.
  pool.on('error', (error) => {
    process.stderr.write(`postgres pool error (${schema}): ${error.message}\n`);
  });
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    // Two services racing to create the same schema may see a unique violation; it exists then.
    if ((error as { code?: string }).code !== '23505') throw error;
  } finally {
    client.release();
  }

  // A parameterless multi-statement query (a migration file) yields one result per statement;
  // report the last one, as the PGlite adapter does.
  const toResult = <Row>(results: pg.QueryResult | pg.QueryResult[]): QueryResult<Row> => {
    const result = Array.isArray(results) ? results[results.length - 1] : results;
    const rows = (result?.rows ?? []) as Row[];
    return { rows, rowCount: result?.rowCount ?? rows.length };
  };

  return {
    kind: 'postgres',
    schema,
    query: async (sql, params) => toResult(await pool.query(sql, params ? [...params] : undefined)),
    transaction: async (work) => {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const tx: Queryable = {
          query: async (sql, params) =>
            toResult(await connection.query(sql, params ? [...params] : undefined)),
        };
        const value = await work(tx);
        await connection.query('COMMIT');
        return value;
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}
