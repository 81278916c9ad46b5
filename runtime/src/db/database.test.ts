/**
 * Contract tests of the storage port. The same suite runs on PGlite always and on real PostgreSQL
 * when DATABASE_URL is set (CI sets it), so both adapters behave alike.
 */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../testing.ts';
import { openDatabase } from './index.ts';

let migrationsDir: string;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'graphex-db-'));
  migrationsDir = path.join(tmp, 'migrations');
  await mkdir(migrationsDir);
  await writeFile(
    path.join(migrationsDir, '001_accounts.sql'),
    `CREATE TABLE accounts (id text PRIMARY KEY, balance numeric(78,0) NOT NULL CHECK (balance >= 0));`,
  );
  await writeFile(
    path.join(migrationsDir, '002_accounts_owner.sql'),
    `ALTER TABLE accounts ADD COLUMN owner text;`,
  );
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const adapters = [
  { name: 'pglite', url: undefined },
  ...(process.env['DATABASE_URL'] ? [{ name: 'postgres', url: process.env['DATABASE_URL'] }] : []),
] as const;

describe.each(adapters)('storage port on $name', ({ name, url }) => {
  let test: TestDatabase;
  const saved = process.env['DATABASE_URL'];

  beforeAll(async () => {
    if (url) process.env['DATABASE_URL'] = url;
    else delete process.env['DATABASE_URL'];
    test = await openTestDatabase('dbcontract', migrationsDir);
    if (saved) process.env['DATABASE_URL'] = saved;
  });
  afterAll(async () => {
    if (url) process.env['DATABASE_URL'] = url;
    await test.dispose();
    if (saved) process.env['DATABASE_URL'] = saved;
    else delete process.env['DATABASE_URL'];
  });

  it('reports its kind and applies migrations in order', async () => {
    expect(test.db.kind).toBe(name);
    const versions = await test.db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(versions.rows.map((r) => Number(r.version))).toEqual([1, 2]);
  });

  it('keeps 78-digit numerics exact (never a float)', async () => {
    const huge = '123456789012345678901234567890123456789012345678901234567890';
    await test.db.query('INSERT INTO accounts (id, balance, owner) VALUES ($1, $2, $3)', ['huge', huge, 'a']);
    const row = await test.db.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [
      'huge',
    ]);
    expect(row.rows[0]?.balance).toBe(huge);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await test.db.transaction(async (tx) => {
      await tx.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', ['t1', '10']);
    });
    await expect(
      test.db.transaction(async (tx) => {
        await tx.query('UPDATE accounts SET balance = balance - 5 WHERE id = $1', ['t1']);
        await tx.query('UPDATE accounts SET balance = balance - 50 WHERE id = $1', ['t1']); // violates CHECK
      }),
    ).rejects.toThrow();
    const row = await test.db.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [
      't1',
    ]);
    expect(row.rows[0]?.balance).toBe('10');
  });

  it('serializes concurrent read-modify-write inside transactions with row locks', async () => {
    await test.db.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', ['c1', '0']);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        test.db.transaction(async (tx) => {
          const current = await tx.query<{ balance: string }>(
            'SELECT balance FROM accounts WHERE id = $1 FOR UPDATE',
            ['c1'],
          );
          const next = BigInt(current.rows[0]!.balance) + 1n;
          await tx.query('UPDATE accounts SET balance = $2 WHERE id = $1', ['c1', next.toString()]);
        }),
      ),
    );
    const row = await test.db.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [
      'c1',
    ]);
    expect(row.rows[0]?.balance).toBe('20');
  });

  it('binds arrays, JSON, booleans, timestamps, bigints and nulls the same on every run of a statement', async () => {
    const sql = `SELECT $1::text[] AS ids, ($2::jsonb)->>'k' AS k, $3::boolean AS flag,
       $4::timestamptz AS at, $5::bigint::text AS big, $6::text IS NULL AS missing`;
    const at = new Date('2026-01-02T03:04:05.678Z');
    for (const ids of [['a', 'b,c', 'd"e'], [], ["o'q"]]) {
      const result = await test.db.query<{
        ids: string[];
        k: string;
        flag: boolean;
        at: Date;
        big: string;
        missing: boolean;
      }>(sql, [ids, JSON.stringify({ k: `v${ids.length}` }), ids.length > 0, at, 2n ** 62n, null]);
      expect(result.rows).toEqual([
        { ids, k: `v${ids.length}`, flag: ids.length > 0, at, big: String(2n ** 62n), missing: true },
      ]);
    }
  });

  it('counts affected rows of parameterized writes', async () => {
    await test.db.query('INSERT INTO accounts (id, balance) VALUES ($1, $2), ($3, $4)', [
      'r1',
      '1',
      'r2',
      '2',
    ]);
    const updated = await test.db.query('UPDATE accounts SET owner = $1 WHERE id = ANY($2::text[])', [
      'o',
      ['r1', 'r2', 'missing'],
    ]);
    expect(updated.rowCount).toBe(2);
    const none = await test.db.query('UPDATE accounts SET owner = $1 WHERE id = $2', ['o', 'missing']);
    expect(none.rowCount).toBe(0);
  });

  it('answers right with more distinct statements than it keeps prepared, and after errors', async () => {
    // 300 distinct texts evict the oldest prepared statements; each must still answer its own SQL.
    for (let i = 0; i < 300; i += 1) {
      const result = await test.db.query<{ n: string }>(`SELECT ($1::int + ${i})::text AS n`, [1]);
      expect(result.rows[0]?.n).toBe(String(i + 1));
    }
    const first = await test.db.query<{ n: string }>('SELECT ($1::int + 0)::text AS n', [7]);
    expect(first.rows[0]?.n).toBe('7');
    // A failing execution (CHECK violation) and a statement that does not parse leave later ones working.
    await test.db.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', ['e1', '1']);
    const debit = 'UPDATE accounts SET balance = balance - $2 WHERE id = $1';
    await expect(test.db.query(debit, ['e1', '5'])).rejects.toThrow();
    await expect(test.db.query('SELEKT $1::int', [1])).rejects.toThrow();
    expect((await test.db.query(debit, ['e1', '1'])).rowCount).toBe(1);
    const row = await test.db.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [
      'e1',
    ]);
    expect(row.rows[0]?.balance).toBe('0');
  });

  it('runs parameterless single statements and multi-statement scripts alike', async () => {
    await test.db.query(`INSERT INTO accounts (id, balance) VALUES ('np1', 3)`);
    for (let i = 0; i < 3; i += 1) {
      const updated = await test.db.query(`UPDATE accounts SET balance = balance + 1 WHERE id = 'np1'`);
      expect(updated.rowCount).toBe(1);
    }
    const locked = await test.db.transaction((tx) =>
      tx.query<{ balance: string }>(`SELECT balance FROM accounts WHERE id = 'np1' FOR UPDATE`),
    );
    expect(locked.rows).toEqual([{ balance: '6' }]);
    const script = await test.db.query<{ n: number }>(
      `UPDATE accounts SET owner = 'script' WHERE id = 'np1'; SELECT 2 AS n;`,
    );
    expect(script.rows).toEqual([{ n: 2 }]);
  });

  it('re-running migrations is a no-op', async () => {
    const { migrate } = await import('./migrations.ts');
    expect(await migrate(test.db, migrationsDir)).toBe(0);
  });
});

describe('migrations', () => {
  it('refuses an applied migration whose file was edited', async () => {
    const dir = path.join(tmp, 'edited');
    await mkdir(dir);
    await writeFile(path.join(dir, '001_t.sql'), 'CREATE TABLE t (id int);');
    const dataDir = path.join(tmp, 'pg-edited');
    const db = await openDatabase({ schema: 'edited', dataDir, migrationsDir: dir });
    await db.close();
    await writeFile(path.join(dir, '001_t.sql'), 'CREATE TABLE t (id bigint);');
    await expect(openDatabase({ schema: 'edited', dataDir, migrationsDir: dir })).rejects.toThrow(
      /edited after it was applied/,
    );
  });

  it('keeps PGlite data across reopen of the same directory', async () => {
    const dataDir = path.join(tmp, 'pg-persist');
    const db = await openDatabase({ schema: 'persist', dataDir, migrationsDir });
    await db.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', ['p', '42']);
    await db.close();
    const again = await openDatabase({ schema: 'persist', dataDir, migrationsDir });
    const row = await again.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', ['p']);
    expect(row.rows[0]?.balance).toBe('42');
    await again.close();
  });
});
