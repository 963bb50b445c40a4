import type { QueryConfig } from 'pg';
import type { RagscopeConfig } from '../config/config';
import { redactUrl } from '../config/config';
import { ServiceUnavailableError } from '../contracts/errors';

/**
 * The one SQL surface the pipeline (and later EXPLAIN) needs, met by both a pg Pool on a real
 * server and PGlite in-process. Parameters are always bind values.
 */
export interface SqlClient {
  /** `server` for DATABASE_URL, `pglite` for the embedded default. */
  readonly kind: 'server' | 'pglite';
  /** Where the data lives, safe to print. */
  readonly description: string;
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Runs `work` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(work: (tx: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in one transaction on one connection and always rolls it back, whatever `work` did:
   * for statements that must really run (EXPLAIN ANALYZE executes its statement) yet leave nothing
   * behind. Every query goes through the extended protocol, which refuses a second statement.
   */
  rolledBackTransaction<T>(work: (tx: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T>;
  /**
   * PGlite only: an uncompressed copy of the whole database, for running a statement in a thread
   * that can be terminated (see pglite-isolated.ts). Must not be called inside a transaction.
   */
  snapshot?: () => Promise<ArrayBuffer>;
  close(): Promise<void>;
}

export async function openSqlClient(config: Pick<RagscopeConfig, 'databaseUrl'>): Promise<SqlClient> {
  return config.databaseUrl ? openServerClient(config.databaseUrl) : openPgliteClient();
}

async function openServerClient(databaseUrl: string): Promise<SqlClient> {
  const { Pool } = await import('pg');
  const pool = new Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 5000 });
  // An idle client losing its server is reported here; the next query gets a fresh connection.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new ServiceUnavailableError(
      `cannot reach PostgreSQL at ${redactUrl(databaseUrl)} (${(error as Error).message})`,
      'check DATABASE_URL, or unset it to use the embedded PGlite database',
    );
  }
  return {
    kind: 'server',
    description: `PostgreSQL ${redactUrl(databaseUrl)}`,
    query: async <Row>(sql: string, params?: unknown[]) => {
      const result = await pool.query(sql, params as unknown[]);
      return { rows: result.rows as Row[] };
    },
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const value = await work({
          query: async <Row>(sql: string, params?: unknown[]) => ({
            rows: (await client.query(sql, params as unknown[])).rows as Row[],
          }),
        });
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    rolledBackTransaction: async (work) => {
      const client = await pool.connect();
      let connectionBroken: Error | undefined;
      try {
        await client.query('BEGIN');
        return await work({
          query: async <Row>(sql: string, params?: unknown[]) => {
            // pg falls back to the simple protocol, which runs every statement of a string, when
            // there are no parameters; `extended` keeps one statement per call even then.
            const extended: QueryConfig & { queryMode: 'extended' } = { text: sql, values: params ?? [], queryMode: 'extended' };
            return { rows: (await client.query(extended)).rows as Row[] };
          },
        });
      } finally {
        await client.query('ROLLBACK').catch((error: Error) => (connectionBroken = error));
        // A connection that cannot roll back must not go back to the pool with a transaction open.
        client.release(connectionBroken);
      }
    },
    close: () => pool.end(),
  };
}

async function openPgliteClient(): Promise<SqlClient> {
  const { PGlite } = await import('@electric-sql/pglite');
  const database = await PGlite.create();
  return {
    kind: 'pglite',
    description: 'embedded PGlite (in-memory)',
    query: async <Row>(sql: string, params?: unknown[]) => {
      const result = await database.query<Row>(sql, params as unknown[]);
      return { rows: result.rows };
    },
    transaction: (work) =>
      database.transaction((tx) =>
        work({
          query: async <Row>(sql: string, params?: unknown[]) => ({
            rows: (await tx.query<Row>(sql, params as unknown[])).rows,
          }),
        }),
      ),
    rolledBackTransaction: (work) =>
      database.transaction(async (tx) => {
        const value = await work({
          query: async <Row>(sql: string, params?: unknown[]) => ({
            // PGlite uses the extended protocol whenever params are given, even an empty list.
            rows: (await tx.query<Row>(sql, params ?? [])).rows,
          }),
        });
        await tx.rollback();
        return value;
      }),
    snapshot: async () => (await database.dumpDataDir('none')).arrayBuffer(),
    close: () => database.close(),
  };
}
