import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlClient } from '../db/sql-client';
import { explainWithFindings } from '../sql-plans/explain-with-findings';
import type { ExplainOptions } from '../sql-plans/explain-runner';
import { inSpan } from '../telemetry/spans';
import type { PipelineRunOptions, PlanRequest } from './job-pipeline';

/** The SQL client a pipeline gets as `ctx.sql`: every statement a `rag.sql` span with `db.statement`. */
export interface PipelineSql {
  /** `server` for DATABASE_URL, `pglite` for the embedded default. */
  readonly kind: 'server' | 'pglite';
  /** Parameters are always bind values (`$1`, `$2`, …), never spliced into the text. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Runs `work` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(work: (tx: Pick<PipelineSql, 'query'>) => Promise<T>): Promise<T>;
}

/** One job run's statements: where its reads are handed to be planned (profiled runs only). */
export interface SqlRunScope {
  requestPlan?: PipelineRunOptions['requestPlan'];
}

/**
 * The run a statement belongs to, found from the async context: `ctx.sql` is one object for the
 * worker's life (a pipeline may keep it in its state, as the sample's document store does), while
 * profiled runs, and only they, have what they query planned.
 */
const runScope = new AsyncLocalStorage<SqlRunScope>();

export function withSqlRunScope<T>(scope: SqlRunScope, work: () => Promise<T>): Promise<T> {
  return runScope.run(scope, work);
}

/** Statements worth a plan: reads. A write is not EXPLAINed (ANALYZE would execute it a second time). */
const READ_STATEMENT = /^\s*(\(\s*)*(select|with|values|table)\b/i;

export interface TracedSqlClient extends PipelineSql {
  /** Where the data lives, safe to print; undefined until the first statement opened it. */
  description(): string | undefined;
  close(): Promise<void>;
}

/**
 * `ctx.sql` over the configured database, opened on first use (a pipeline without SQL never pays
 * for PGlite's start-up). Each statement is a `rag.sql` span (type sql); in a profiled run, each
 * read is also handed to the worker to be EXPLAINed (ANALYZE, in a rolled-back read-only
 * transaction) once the profile has stopped, and its findings go to the run's result.
 */
export function tracedSqlClient(
  kind: PipelineSql['kind'],
  open: () => Promise<SqlClient>,
  /** How profiled runs EXPLAIN: the role (RAGSCOPE_EXPLAIN_ROLE); the same checks as `ragscope explain` always apply. */
  explainOptions: Pick<ExplainOptions, 'role'> = {},
): TracedSqlClient {
  let opening: Promise<SqlClient> | undefined;
  let opened: SqlClient | undefined;
  const client = async (): Promise<SqlClient> => {
    opening ??= open().then((sql) => (opened = sql));
    try {
      return await opening;
    } catch (error) {
      opening = undefined;
      throw error;
    }
  };

  const traced = <Row>(statement: string, params: unknown[] | undefined, run: () => Promise<{ rows: Row[] }>, explainable: boolean) =>
    // Outside a job (a pipeline's setup loading its tables) a statement would start a trace of its own per row batch.
    runScope.getStore() === undefined
      ? run()
      : inSpan('rag.sql', { type: 'sql', attributes: { 'db.system': 'postgresql', 'db.statement': statement, 'db.backend': kind } }, async (span) => {
      const result = await run();
      span.setAttribute('db.rows', result.rows.length);
      const requestPlan = runScope.getStore()?.requestPlan;
      if (explainable && requestPlan && READ_STATEMENT.test(statement)) requestPlan(planRequest(client, statement, params ?? [], explainOptions));
      return result;
    });

  return {
    kind,
    description: () => opened?.description,
    query: async <Row>(statement: string, params?: unknown[]) => {
      const sql = await client();
      return traced(statement, params, () => sql.query<Row>(statement, params), true);
    },
    transaction: async (work) => {
      const sql = await client();
      // A statement inside a transaction may depend on what the transaction did before it, so it is traced, not EXPLAINed.
      return sql.transaction((tx) =>
        work({ query: <Row>(statement: string, params?: unknown[]) => traced(statement, params, () => tx.query<Row>(statement, params), false) }),
      );
    },
    close: async () => {
      const sql = opening ? await opening.catch(() => undefined) : undefined;
      await sql?.close();
    },
  };
}

function planRequest(
  client: () => Promise<SqlClient>,
  statement: string,
  params: unknown[],
  options: Pick<ExplainOptions, 'role'>,
): PlanRequest {
  return {
    statement,
    explain: async () => {
      const explained = await explainWithFindings(await client(), statement, params, options);
      return {
        nodeType: explained.plan.Plan['Node Type'],
        rows: explained.plan.Plan['Actual Rows'] ?? 0,
        executionMs: explained.executionMs,
        findings: explained.findings,
      };
    },
  };
}
