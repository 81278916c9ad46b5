import { mkdir } from 'node:fs/promises';
import { PGlite, parse, protocol, type Results } from '@electric-sql/pglite';
import { assertSchemaName, type Database, type Queryable, type QueryResult } from './database.ts';

/**
 * Parameterized statements kept prepared per database. Bounded (TIGER_STYLE): some SQL is built
 * per call (`IN (VALUES …)` lists of varying length); the least recently used is closed.
 */
export const preparedStatementsMax = 256;

interface PreparedStatement {
  readonly name: string;
  /** Parameter type OIDs as the server inferred them at Parse (they pick each value's serializer). */
  readonly paramTypes: readonly number[];
}

function concatMessages(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Embedded adapter. PGlite is single-connection: queries are serialized by PGlite itself, and a
 * transaction holds the connection until it ends, so concurrent requests queue instead of interleave.
 *
 * Single statements run as named prepared statements: PGlite's `query` sends Parse, Describe,
 * Bind, Describe, Execute and Sync as six separate calls into the WASM backend and parses and plans
 * the SQL every time — most of the cost of a small statement. Here the statement is parsed once
 * (Parse + Describe to learn its parameter types), and each execution is one call (Bind, Describe,
 * Execute, Sync) whose values are serialized exactly as `query` would serialize them.
 */
export async function openPglite(schema: string, dataDir: string): Promise<Database> {
  assertSchemaName(schema);
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  await pg.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}", public;`);

  const statements = new Map<string, PreparedStatement>();
  /** Evicted statements, closed with the next execution's messages. */
  let toClose: string[] = [];
  let nextStatement = 1;
  /** Close messages for the evicted statements (closing a missing name is no error). */
  const takeClosing = (): Uint8Array[] => {
    const closing = toClose.map((name) => protocol.serialize.close({ type: 'S', name }));
    toClose = [];
    return closing;
  };

  /** Runs under PGlite's query lock (and, outside a transaction, its transaction lock). */
  const executePrepared = async (
    sql: string,
    params: readonly unknown[],
    inTransaction: boolean,
  ): Promise<Results> => {
    let statement = statements.get(sql);
    if (statement) {
      // Most recently used last: the Map's first key is the one to evict.
      statements.delete(sql);
      statements.set(sql, statement);
    } else {
      const name = `graphex_${nextStatement++}`;
      const closing = takeClosing();
      const described = await pg.execProtocolStream(
        concatMessages([
          ...closing,
          protocol.serialize.parse({ name, text: sql }),
          protocol.serialize.describe({ type: 'S', name }),
          protocol.serialize.sync(),
        ]),
        { syncToFs: false },
      );
      statement = { name, paramTypes: parse.parseDescribeStatementResults(described) };
      statements.set(sql, statement);
      if (statements.size > preparedStatementsMax) {
        const [oldestSql, oldest] = statements.entries().next().value!;
        statements.delete(oldestSql);
        toClose.push(oldest.name);
      }
    }
    if (statement.paramTypes.length !== params.length)
      throw new Error(
        `The statement takes ${statement.paramTypes.length} parameters, ${params.length} were given.`,
      );
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serialize = pg.serializers[statement.paramTypes[index]!];
      return serialize ? serialize(value) : (value as { toString(): string }).toString();
    });
    const prepared = statement;
    let messages;
    try {
      messages = await pg.execProtocolStream(
        concatMessages([
          ...takeClosing(),
          protocol.serialize.bind({ statement: prepared.name, values }),
          protocol.serialize.describe({ type: 'P' }),
          protocol.serialize.execute({}),
          protocol.serialize.sync(),
        ]),
        { syncToFs: false },
      );
    } catch (error) {
      // The statement may be what failed (a plan invalidated by DDL): prepare it afresh next time.
      if (statements.get(sql) === prepared) {
        statements.delete(sql);
        toClose.push(prepared.name);
      }
      throw error;
    }
    if (!inTransaction) await pg.syncToFs();
    return parse.parseResults(messages, pg.parsers)[0]!;
  };

  const run = async <Row>(
    target: Pick<PGlite, 'exec'>,
    sql: string,
    params: readonly unknown[] | undefined,
    inTransaction: boolean,
  ): Promise<QueryResult<Row>> => {
    if ((!params || params.length === 0) && sql.includes(';')) {
      // Several statements (a migration file) need the simple-query protocol, like pg uses for
      // parameterless SQL; the extended protocol refuses them. Without a `;` there is one statement.
      const results = await target.exec(sql);
      const last = results[results.length - 1];
      const rows = (last?.rows ?? []) as Row[];
      return { rows, rowCount: last?.affectedRows ?? rows.length };
    }
    const values = params ?? [];
    const result = inTransaction
      ? await pg._runExclusiveQuery(() => executePrepared(sql, values, true))
      : await pg._runExclusiveTransaction(() =>
          pg._runExclusiveQuery(() => executePrepared(sql, values, false)),
        );
    const rows = result.rows as Row[];
    return { rows, rowCount: result.affectedRows ?? rows.length };
  };

  return {
    kind: 'pglite',
    schema,
    query: (sql, params) => run(pg, sql, params, false),
    transaction: (work) =>
      pg.transaction(async (tx) => {
        const queryable: Queryable = {
          query: (sql, params) => {
            if (tx.closed) throw new Error('Transaction is closed');
            return run(tx, sql, params, true);
          },
        };
        return work(queryable);
      }),
    close: () => pg.close(),
  };
}
