import { UserError } from '../contracts/errors';
import { runIsolatedStatement } from '../db/pglite-isolated';
import type { SqlClient } from '../db/sql-client';
import { checkExplainRole, isSuperuser, quoteIdentifier } from './explain-role';
import { assertUserSettings, enforcedSettings } from './explain-settings';
import type { ExplainOutput } from './plan-types';
import { isPostgresError, statementError } from './postgres-error';
import { assertSingleStatement } from './statement-check';
import { refusalError, refusedFunctions } from './statement-inspection';

export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

export const EXPLAIN_PREFIX = 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ';

export interface ExplainOptions {
  /**
   * Lets INSERT/UPDATE/DELETE/MERGE run. Off, the transaction is READ ONLY and PostgreSQL itself
   * refuses any write. Either way the transaction is rolled back, and functions whose effects a
   * rollback does not undo are refused before anything runs (statement-inspection.ts).
   */
  allowWrites?: boolean;
  /** statement_timeout for the statement (default 30 s); on PGlite the statement's thread is terminated. */
  statementTimeoutMs?: number;
  /** Schema to resolve unqualified names in: search_path becomes `"<schema>", public`. */
  schema?: string;
  /** Settings for this transaction only (SET LOCAL), e.g. `{ work_mem: '64kB' }`; timeouts, role and the like are refused. */
  settings?: Record<string, string>;
  /** RAGSCOPE_EXPLAIN_ROLE: the statement runs after SET LOCAL ROLE to it (PostgreSQL server only). */
  role?: string;
}

export interface CapturedPlan {
  /** One element of EXPLAIN's JSON output: Plan, Planning Time, Execution Time, Triggers … */
  plan: ExplainOutput;
  executionMs: number;
  planningMs: number;
  /** Advice about the set-up worth showing once (e.g. running as a superuser without a role). */
  notes: string[];
}

interface SetupStep {
  sql: string;
  params: unknown[];
}

export const SUPERUSER_NOTE =
  'explain is running as a superuser: statements pass the function check, but a least-privilege role is recommended ' +
  '(ragscope db explain-role --create, then RAGSCOPE_EXPLAIN_ROLE=ragscope_explain)';

/**
 * EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of one statement. ANALYZE really executes it, so first
 * the statement is only planned (plain EXPLAIN VERBOSE, read-only) and every function it would
 * call is checked; then it runs in a transaction that is always rolled back, read-only unless
 * `allowWrites`, under the explain role if one is set, with the timeouts set last, and `params` as
 * bind values (never spliced into the text). Every EXPLAIN ragscope runs goes through here.
 */
export async function explainStatement(
  sql: SqlClient,
  statement: string,
  params: unknown[],
  options: ExplainOptions = {},
): Promise<CapturedPlan> {
  assertSingleStatement(statement);
  const userSettings = options.settings ?? {};
  assertUserSettings(userSettings);
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  // PGlite is an in-process copy with a single superuser; roles there would protect nothing.
  const role = sql.kind === 'server' ? options.role : undefined;
  const settings: [string, string][] = [];
  if (options.schema) settings.push(['search_path', `${quoteIdentifier(options.schema)}, public`]);
  settings.push(...Object.entries(userSettings), ...enforcedSettings(statementTimeoutMs));
  const setup = (readOnly: boolean): SetupStep[] => [
    // Must come first: a transaction's access mode cannot change once it has run a query.
    ...(readOnly ? [{ sql: 'SET TRANSACTION READ ONLY', params: [] }] : []),
    ...(role ? [{ sql: `SET LOCAL ROLE ${quoteIdentifier(role)}`, params: [] }] : []),
    ...settings.map(([name, value]) => ({ sql: 'SELECT set_config($1, $2, true)', params: [name, value] })),
  ];

  const notes: string[] = [];
  // Inspection: always read-only, whatever allowWrites says; planning executes nothing but
  // functions declared IMMUTABLE, which the planner may fold.
  const refusals = await sql.rolledBackTransaction(async (tx) => {
    await tx.query('SET TRANSACTION READ ONLY');
    if (role) await checkExplainRole(tx, role);
    else if (sql.kind === 'server' && (await isSuperuser(tx))) notes.push(SUPERUSER_NOTE);
    await runSetup(tx, setup(false));
    return refusedFunctions(tx, statement, params, statementTimeoutMs);
  });
  if (refusals.length > 0) throw refusalError(refusals);

  const context = { statement, prefixLength: Array.from(EXPLAIN_PREFIX).length, statementTimeoutMs };
  let rows: { 'QUERY PLAN': unknown }[];
  try {
    if (sql.kind === 'pglite' && sql.snapshot) {
      // PGlite cannot cancel a running statement: run it on a copy in a thread that can be terminated.
      const dataDir = await sql.snapshot();
      rows = (await runIsolatedStatement(
        { dataDir, setup: setup(!options.allowWrites), statement: `${EXPLAIN_PREFIX}${statement}`, params },
        statementTimeoutMs,
      )) as { 'QUERY PLAN': unknown }[];
    } else {
      rows = await sql.rolledBackTransaction(async (tx) => {
        await runSetup(tx, setup(!options.allowWrites));
        return (await tx.query<{ 'QUERY PLAN': unknown }>(`${EXPLAIN_PREFIX}${statement}`, params)).rows;
      });
    }
  } catch (error) {
    if (error instanceof UserError || !isPostgresError(error)) throw error;
    throw statementError(error, context);
  }

  const plan = parseExplainRows(rows);
  return { plan, executionMs: plan['Execution Time'] ?? 0, planningMs: plan['Planning Time'] ?? 0, notes };
}

async function runSetup(tx: Pick<SqlClient, 'query'>, steps: SetupStep[]): Promise<void> {
  for (const step of steps) {
    try {
      await tx.query(step.sql, step.params);
    } catch (error) {
      if (!isPostgresError(error)) throw error;
      const what = step.params.length === 2 ? `set ${String(step.params[0])} = '${String(step.params[1])}'` : step.sql;
      throw new UserError(`cannot ${what}: ${error.message}`);
    }
  }
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
