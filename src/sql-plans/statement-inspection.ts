import { ValidationError } from '../contracts/errors';
import type { SqlClient } from '../db/sql-client';
import { classifyFunction, describeRefusal, type FunctionFacts } from './function-safety';
import { expressionCalls, planCalls, type FunctionReference } from './plan-calls';
import { isPostgresError, statementError } from './postgres-error';

type Tx = Pick<SqlClient, 'query'>;

export const INSPECT_PREFIX = 'EXPLAIN (VERBOSE, FORMAT JSON) ';

/** pg_proc facts of a function; the volatility of an aggregate is the worst of its support functions. */
const FACTS = `
  p.proname AS name, n.nspname AS schema,
  p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
  GREATEST(p.provolatile::text, COALESCE((
    SELECT max(f.provolatile::text) FROM pg_aggregate a
    JOIN pg_proc f ON f.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)
    WHERE a.aggfnoid = p.oid), 'i')) AS volatility,
  p.oid < 16384 AS builtin,
  (SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
   WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   LIMIT 1) AS extension`;

const FUNCTIONS_BY_NAME = `
  SELECT ${FACTS}, NULL::text AS via
  FROM unnest($1::text[], $2::text[]) AS r(name, schema)
  JOIN pg_proc p ON p.proname = r.name
  JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE (r.schema IS NULL AND pg_function_is_visible(p.oid)) OR n.nspname = r.schema`;

/** Cast functions into each target type, and the input function of a user-defined type (CoerceViaIO calls it). */
const CAST_FUNCTIONS = `
  SELECT ${FACTS}, 'cast to ' || r.type_name AS via
  FROM unnest($1::text[]) AS r(type_name)
  JOIN pg_cast c ON c.casttarget = to_regtype(r.type_name)
  JOIN pg_proc p ON p.oid = c.castfunc
  JOIN pg_namespace n ON n.oid = p.pronamespace
  UNION ALL
  SELECT ${FACTS}, 'input of type ' || r.type_name AS via
  FROM unnest($1::text[]) AS r(type_name)
  JOIN pg_type t ON t.oid = to_regtype(r.type_name) AND t.oid >= 16384
  JOIN pg_proc p ON p.oid = t.typinput
  JOIN pg_namespace n ON n.oid = p.pronamespace`;

/** Functions behind operators created in this database (built-in operators call built-in immutable functions). */
const OPERATOR_FUNCTIONS = `
  SELECT ${FACTS}, 'operator ' || r.name AS via
  FROM unnest($1::text[], $2::text[]) AS r(name, schema)
  JOIN pg_operator o ON o.oprname = r.name AND o.oid >= 16384
  JOIN pg_namespace opn ON opn.oid = o.oprnamespace AND (r.schema IS NULL OR opn.nspname = r.schema)
  JOIN pg_proc p ON p.oid = o.oprcode
  JOIN pg_namespace n ON n.oid = p.pronamespace`;

/** The written tables, the tables whose foreign keys cascade from them, and their partitions. */
const WRITTEN_TABLES = `
  WITH RECURSIVE targets(relid) AS (
    SELECT c.oid FROM unnest($1::text[], $2::text[]) AS r(name, schema)
    JOIN pg_class c ON c.relname = r.name
    JOIN pg_namespace cn ON cn.oid = c.relnamespace
    WHERE (r.schema IS NULL AND pg_table_is_visible(c.oid)) OR cn.nspname = r.schema
    UNION
    SELECT x.relid FROM targets t, LATERAL (
      SELECT con.conrelid AS relid FROM pg_constraint con WHERE con.contype = 'f' AND con.confrelid = t.relid
      UNION SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = t.relid
    ) x
  )`;

const TRIGGER_FUNCTIONS = `${WRITTEN_TABLES}
  SELECT ${FACTS}, 'trigger ' || quote_ident(tg.tgname) || ' on ' || tg.tgrelid::regclass::text AS via
  FROM targets
  JOIN pg_trigger tg ON tg.tgrelid = targets.relid AND NOT tg.tgisinternal AND tg.tgenabled <> 'D'
  JOIN pg_proc p ON p.oid = tg.tgfoid
  JOIN pg_namespace n ON n.oid = p.pronamespace`;

/** Column defaults (an INSERT or UPDATE … DEFAULT evaluates them) and CHECK constraints of the written tables. */
const WRITE_EXPRESSIONS = `${WRITTEN_TABLES}
  SELECT 'default of ' || d.adrelid::regclass::text || '.' || quote_ident(a.attname) AS via, pg_get_expr(d.adbin, d.adrelid) AS expression
  FROM targets
  JOIN pg_attrdef d ON d.adrelid = targets.relid
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  UNION ALL
  SELECT 'constraint ' || quote_ident(con.conname) || ' on ' || con.conrelid::regclass::text, pg_get_constraintdef(con.oid)
  FROM targets
  JOIN pg_constraint con ON con.conrelid = targets.relid AND con.contype = 'c'`;

interface FactsRow {
  name: string;
  schema: string;
  signature: string;
  volatility: string;
  builtin: boolean;
  extension: string | null;
  via: string | null;
}

/**
 * Plans `statement` without executing it (plain EXPLAIN VERBOSE, inside the caller's read-only,
 * rolled-back transaction) and returns one line per function it would call that explain must not
 * run, naming the function and why; empty when everything is harmless.
 */
export async function refusedFunctions(tx: Tx, statement: string, params: unknown[], statementTimeoutMs: number): Promise<string[]> {
  let rows: { 'QUERY PLAN': unknown }[];
  try {
    rows = (await tx.query<{ 'QUERY PLAN': unknown }>(`${INSPECT_PREFIX}${statement}`, params)).rows;
  } catch (error) {
    if (!isPostgresError(error)) throw error;
    throw statementError(error, { statement, prefixLength: Array.from(INSPECT_PREFIX).length, statementTimeoutMs });
  }
  const raw = rows[0]?.['QUERY PLAN'];
  const calls = planCalls(typeof raw === 'string' ? JSON.parse(raw) : raw);

  const facts: FactsRow[] = [];
  const byName = async (references: FunctionReference[], via?: string) => {
    if (references.length === 0) return;
    const found = await tx.query<FactsRow>(FUNCTIONS_BY_NAME, [references.map((r) => r.name), references.map((r) => r.schema ?? null)]);
    facts.push(...found.rows.map((row) => ({ ...row, via: via ?? row.via })));
  };
  await byName(calls.functions);
  if (calls.castTargets.length > 0) facts.push(...(await tx.query<FactsRow>(CAST_FUNCTIONS, [calls.castTargets])).rows);
  if (calls.operators.length > 0) {
    facts.push(...(await tx.query<FactsRow>(OPERATOR_FUNCTIONS, [calls.operators.map((o) => o.name), calls.operators.map((o) => o.schema ?? null)])).rows);
  }
  if (calls.modifiedRelations.length > 0) {
    const tables = [calls.modifiedRelations.map((r) => r.name), calls.modifiedRelations.map((r) => r.schema ?? null)];
    facts.push(...(await tx.query<FactsRow>(TRIGGER_FUNCTIONS, tables)).rows);
    const expressions = (await tx.query<{ via: string; expression: string }>(WRITE_EXPRESSIONS, tables)).rows;
    for (const { via, expression } of expressions) await byName(expressionCalls(expression).functions, via);
  }

  const refusals = new Map<string, string>();
  for (const row of facts) {
    const fact: FunctionFacts = {
      name: row.name,
      schema: row.schema,
      signature: row.signature,
      volatility: row.volatility as FunctionFacts['volatility'],
      builtin: row.builtin,
      ...(row.extension ? { extension: row.extension } : {}),
    };
    const verdict = classifyFunction(fact);
    const key = `${row.schema}.${row.name} ${row.via ?? ''}`;
    if (!verdict.allowed && !refusals.has(key)) refusals.set(key, describeRefusal(fact, verdict, row.via ?? undefined));
  }
  return [...refusals.values()];
}

/** The error for a statement with refused functions: nothing of it has run. */
export function refusalError(refusals: string[]): ValidationError {
  return new ValidationError(
    `explain refused the statement before running it: ${refusals.join('; ')}`,
    'explain only executes statements whose effects a rollback fully undoes (see "What explain guarantees" in the README); ' +
      'remove the call, or run the statement yourself outside ragscope',
  );
}
