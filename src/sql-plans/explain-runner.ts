import { UserError } from '../contracts/errors';
import type { SqlClient } from '../db/sql-client';
import type { ExplainOutput } from './plan-types';
import { isPostgresError, statementError } from './postgres-error';
import { assertSingleStatement } from './statement-check';

export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

export const EXPLAIN_PREFIX = 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ';

export interface ExplainOptions {
  /**
   * Lets INSERT/UPDATE/DELETE/MERGE (and functions that write) run. Off, the transaction is READ
   * ONLY and PostgreSQL itself refuses any write. Either way the transaction is rolled back.
   */
  allowWrites?: boolean;
  /** statement_timeout for the statement (default 30 s). PGlite cannot enforce it (no timers in WASM). */
  statementTimeoutMs?: number;
  /** Schema to resolve unqualified names in: search_path becomes `"<schema>", public`. */
  schema?: string;
  /** Settings for this transaction only (SET LOCAL), e.g. `{ work_mem: '64kB' }`. */
  settings?: Record<string, string>;
}

export interface CapturedPlan {
  /** One element of EXPLAIN's JSON output: Plan, Planning Time, Execution Time, Triggers … */
  plan: ExplainOutput;
  executionMs: number;
  planningMs: number;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of one statement. ANALYZE really executes it, so it runs
 * in a transaction that is always rolled back, read-only unless `allowWrites`, under a statement
 * timeout, with `params` as bind values (never spliced into the text).
 */
export async function explainStatement(
  sql: SqlClient,
  statement: string,
  params: unknown[],
  options: ExplainOptions = {},
): Promise<CapturedPlan> {
  assertSingleStatement(statement);
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const settings: [string, string][] = [['statement_timeout', String(statementTimeoutMs)]];
  if (options.schema) settings.push(['search_path', `${quoteIdentifier(options.schema)}, public`]);
  settings.push(...Object.entries(options.settings ?? {}));

  const rows = await sql.rolledBackTransaction(async (tx) => {
    // Must come first: a transaction's access mode cannot change once it has run a query.
    if (!options.allowWrites) await tx.query('SET TRANSACTION READ ONLY');
    for (const [name, value] of settings) {
      try {
        await tx.query('SELECT set_config($1, $2, true)', [name, value]);
      } catch (error) {
        if (!isPostgresError(error)) throw error;
        throw new UserError(`cannot set ${name} = '${value}': ${error.message}`);
      }
    }
    try {
      return (await tx.query<{ 'QUERY PLAN': unknown }>(`${EXPLAIN_PREFIX}${statement}`, params)).rows;
    } catch (error) {
      if (!isPostgresError(error)) throw error;
      throw statementError(error, { statement, prefixLength: Array.from(EXPLAIN_PREFIX).length, statementTimeoutMs });
    }
  });

  const plan = parseExplainRows(rows);
  return { plan, executionMs: plan['Execution Time'] ?? 0, planningMs: plan['Planning Time'] ?? 0 };
}

/** Both drivers parse the json column; a driver configured without type parsing hands over text. */
function parseExplainRows(rows: { 'QUERY PLAN': unknown }[]): ExplainOutput {
  const raw = rows[0]?.['QUERY PLAN'];
  const value: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'object' || first === null || !('Plan' in first)) {
    throw new Error(`EXPLAIN returned no JSON plan (got ${JSON.stringify(raw)?.slice(0, 200)})`);
  }
  return first as ExplainOutput;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
