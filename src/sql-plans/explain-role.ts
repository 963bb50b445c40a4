import { ConfigError } from '../contracts/errors';
import type { SqlClient } from '../db/sql-client';

type Tx = Pick<SqlClient, 'query'>;

/** Predefined roles a role running other people's statements must not have, and what each allows. */
export const FORBIDDEN_MEMBERSHIPS: Record<string, string> = {
  pg_signal_backend: 'cancel or terminate other sessions',
  pg_read_server_files: 'read files on the server',
  pg_write_server_files: 'write files on the server',
  pg_execute_server_program: 'run programs on the server',
  pg_write_all_data: 'write every table',
  pg_checkpoint: 'force checkpoints',
};

/**
 * The SQL that creates the least-privilege role explain runs under: no login (it is only ever SET
 * ROLE to), no superuser or other attribute, USAGE on the documents schema and SELECT on its
 * tables, now and later, and membership for the connecting user so it may SET ROLE to it. Pure.
 */
export function explainRoleStatements(role: string, schema: string, exists: boolean): string[] {
  const r = quoteIdentifier(role);
  const s = quoteIdentifier(schema);
  return [
    ...(exists ? [] : [`CREATE ROLE ${r} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`]),
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT ON TABLES TO ${r}`,
    `GRANT ${r} TO CURRENT_USER`,
  ];
}

/**
 * Throws a ConfigError unless `role` exists, the session may SET ROLE to it, and it has none of the
 * powers a rollback cannot contain (superuser, the predefined roles above).
 */
export async function checkExplainRole(tx: Tx, role: string): Promise<void> {
  const { rows } = await tx.query<{ superuser: boolean; replication: boolean; can_set: boolean; memberships: string[] }>(
    `SELECT r.rolsuper AS superuser, r.rolreplication AS replication,
            pg_has_role(session_user, r.oid, 'MEMBER') AS can_set,
            ARRAY(SELECT b.rolname::text FROM pg_roles b
                  WHERE b.rolname = ANY($2::text[]) AND pg_has_role(r.oid, b.oid, 'MEMBER') ORDER BY 1) AS memberships
     FROM pg_roles r WHERE r.rolname = $1`,
    [role, Object.keys(FORBIDDEN_MEMBERSHIPS)],
  );
  const found = rows[0];
  const fix = `create a fitting one with: ragscope db explain-role --create (RAGSCOPE_EXPLAIN_ROLE=${role})`;
  if (!found) throw new ConfigError(`RAGSCOPE_EXPLAIN_ROLE: role ${role} does not exist`, fix);
  if (found.superuser) throw new ConfigError(`RAGSCOPE_EXPLAIN_ROLE: role ${role} is a superuser; explain needs a least-privilege role`, fix);
  if (found.replication) throw new ConfigError(`RAGSCOPE_EXPLAIN_ROLE: role ${role} has REPLICATION`, `ALTER ROLE ${quoteIdentifier(role)} NOREPLICATION`);
  if (found.memberships.length > 0) {
    const powers = found.memberships.map((name) => `${name} (${FORBIDDEN_MEMBERSHIPS[name] ?? 'too powerful'})`).join(', ');
    throw new ConfigError(
      `RAGSCOPE_EXPLAIN_ROLE: role ${role} is a member of ${powers}`,
      found.memberships.map((name) => `REVOKE ${name} FROM ${quoteIdentifier(role)}`).join('; '),
    );
  }
  if (!found.can_set) {
    throw new ConfigError(`RAGSCOPE_EXPLAIN_ROLE: the connecting user may not SET ROLE ${role}`, `GRANT ${quoteIdentifier(role)} TO CURRENT_USER (as a superuser or the role's admin)`);
  }
}

export async function isSuperuser(tx: Tx): Promise<boolean> {
  const { rows } = await tx.query<{ superuser: boolean }>(`SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`);
  return rows[0]?.superuser ?? false;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
