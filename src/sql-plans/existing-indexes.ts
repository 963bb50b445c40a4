import type { SqlClient } from '../db/sql-client';
import { quoteIdentifier } from './explain-role';
import type { ExistingIndex } from './plan-rules';

/**
 * The indexes on the named tables (pg_index), so findings never suggest one that is there. A name
 * resolves as the statement's did: tables visible on the search_path (`schema`, then public) win;
 * when none is visible (the statement qualified the schema) every table of that name counts.
 */
export async function existingIndexes(sql: SqlClient, relations: string[], schema?: string): Promise<ExistingIndex[]> {
  if (relations.length === 0) return [];
  const rows = await sql.rolledBackTransaction(async (tx) => {
    await tx.query('SET TRANSACTION READ ONLY');
    if (schema) await tx.query('SELECT set_config($1, $2, true)', ['search_path', `${quoteIdentifier(schema)}, public`]);
    return (
      await tx.query<ExistingIndex & { visible: boolean }>(
        `SELECT c.relname AS relation, i.relname AS name, am.amname AS method, pg_table_is_visible(c.oid) AS visible,
                pg_get_indexdef(x.indexrelid) AS definition,
                ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k) AS keys
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_am am ON am.oid = i.relam
         WHERE c.relname = ANY($1::text[]) AND x.indisvalid`,
        [relations],
      )
    ).rows;
  });
  return rows
    .filter((row) => row.visible || !rows.some((other) => other.relation === row.relation && other.visible))
    .map(({ relation, name, method, keys, definition }) => ({ relation, name, method, keys, definition }));
}
