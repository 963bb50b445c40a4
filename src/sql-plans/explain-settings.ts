import { ValidationError } from '../contracts/errors';

/**
 * Settings `--set` may not touch, and why. ragscope sets the timeouts last, so a user setting could
 * not undo them anyway; refusing says so instead of silently overriding. Pure.
 */
const PROTECTED_SETTINGS: Record<string, string> = {
  statement_timeout: 'it is the --timeout',
  lock_timeout: 'ragscope always sets it, so explain never queues behind a lock for long',
  idle_in_transaction_session_timeout: 'it bounds ragscope\'s own transaction',
  idle_session_timeout: 'it bounds ragscope\'s own connection',
  transaction_timeout: 'it bounds ragscope\'s own transaction',
  transaction_read_only: 'the transaction is read-only unless --allow-writes',
  default_transaction_read_only: 'the transaction is read-only unless --allow-writes',
  role: 'the role is RAGSCOPE_EXPLAIN_ROLE',
  session_authorization: 'the role is RAGSCOPE_EXPLAIN_ROLE',
  search_path: 'names resolve in RAGSCOPE_DB_SCHEMA, then public; qualify a name (schema.table) to reach another schema',
  session_replication_role: 'it switches triggers and foreign-key checks on or off',
  zero_damaged_pages: 'it can destroy data',
  ignore_checksum_failure: 'it hides corruption',
  lo_compat_privileges: 'it lifts the privilege checks on large objects',
  allow_system_table_mods: 'it allows changing the system catalogs',
  default_transaction_isolation: 'it cannot change a transaction that has started',
};

/** The longest ragscope lets a statement wait for a lock: queued lockers would wait behind it. */
export const MAX_LOCK_TIMEOUT_MS = 1000;

/** Throws a ValidationError naming the first setting `--set` may not change. */
export function assertUserSettings(settings: Record<string, string>): void {
  for (const name of Object.keys(settings)) {
    const reason = PROTECTED_SETTINGS[name.toLowerCase()];
    if (reason) {
      throw new ValidationError(
        `--set ${name} is not allowed: ${reason}`,
        name.toLowerCase() === 'statement_timeout' ? 'use --timeout <seconds>' : 'drop that --set',
      );
    }
  }
}

/** Settings ragscope applies after the user's, in this order, so nothing the user sets can lift them. */
export function enforcedSettings(statementTimeoutMs: number): [string, string][] {
  return [
    ['statement_timeout', String(statementTimeoutMs)],
    ['lock_timeout', String(Math.min(statementTimeoutMs, MAX_LOCK_TIMEOUT_MS))],
    ['idle_in_transaction_session_timeout', String(statementTimeoutMs + 60_000)],
  ];
}
