/**
 * Which functions `explain` may let EXPLAIN ANALYZE execute. Pure: a function's catalog facts in,
 * a verdict out. The transaction is always rolled back, but a rollback undoes only transactional
 * effects; everything below reaches past it (another session, another connection, the file system,
 * the WAL, shared memory, a sequence) or runs SQL text the plan never showed.
 */

/** What pg_proc says about one function (or the function behind a cast, operator or trigger). */
export interface FunctionFacts {
  /** Plain name, e.g. `nextval`. */
  name: string;
  /** Schema, e.g. `pg_catalog`. */
  schema: string;
  /** `regprocedure` text, e.g. `nextval(regclass)`, for messages. */
  signature: string;
  /** pg_proc.provolatile: i(mmutable), s(table), v(olatile). */
  volatility: 'i' | 's' | 'v';
  /** Shipped with PostgreSQL (oid below FirstNormalObjectId, 16384) rather than created by a user or an extension. */
  builtin: boolean;
  /** The extension that owns it, if any (`dblink`, `postgres_fdw` …). */
  extension?: string;
}

export type FunctionRefusalClass =
  | 'sequence'
  | 'advisory-lock'
  | 'backend-signal'
  | 'replication'
  | 'configuration'
  | 'statistics-reset'
  | 'file-access'
  | 'large-object'
  | 'foreign-connection'
  | 'notification'
  | 'runs-sql-text'
  | 'session-state'
  | 'volatile';

export type FunctionVerdict = { allowed: true } | { allowed: false; class: FunctionRefusalClass; reason: string };

interface RefusedFamily {
  class: FunctionRefusalClass;
  matches: (name: string, facts: FunctionFacts) => boolean;
  reason: string;
}

const named =
  (...names: string[]) =>
  (name: string) =>
    names.includes(name);
const prefixed =
  (...prefixes: string[]) =>
  (name: string) =>
    prefixes.some((prefix) => name.startsWith(prefix));

/** Checked in order; the first family a function belongs to names the reason. */
const REFUSED_FAMILIES: RefusedFamily[] = [
  {
    class: 'sequence',
    matches: named('nextval', 'setval', 'currval', 'lastval'),
    reason: 'changes a sequence, which a rollback does not undo',
  },
  {
    class: 'advisory-lock',
    matches: prefixed('pg_advisory', 'pg_try_advisory'),
    reason: 'takes or releases an advisory lock, which can outlive the transaction (session-level locks stay until the connection closes)',
  },
  {
    class: 'backend-signal',
    matches: (name) => name === 'pg_promote' || name === 'pg_log_backend_memory_contexts' || /^pg_(terminate|cancel|signal)_backend$/.test(name),
    reason: 'signals another server process (terminating or cancelling a session cannot be rolled back)',
  },
  {
    class: 'replication',
    matches: (name) =>
      /replication_(slot|origin)/.test(name) ||
      /^pg_logical_(slot_|emit_message)/.test(name) ||
      /^pg_(switch_wal|create_restore_point|backup_start|backup_stop|start_backup|stop_backup|wal_replay_(pause|resume)|export_snapshot)$/.test(name),
    reason: 'controls replication or the WAL (slots and restore points persist and hold WAL; a rollback does not undo them)',
  },
  {
    class: 'configuration',
    matches: named('set_config', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_import_system_collations'),
    reason: 'changes server or session configuration beyond the statement',
  },
  {
    class: 'statistics-reset',
    matches: (name, facts) =>
      name.startsWith('pg_stat_reset') ||
      ((facts.builtin || facts.extension !== undefined) && /_reset$/.test(name)) || name === 'pg_stat_clear_snapshot' || name === 'pg_stat_force_next_flush',
    reason: 'resets or flushes cumulative statistics, which a rollback does not restore',
  },
  {
    class: 'file-access',
    matches: (name) => /^pg_(read_file|read_binary_file|stat_file|ls_|file_)/.test(name) || name.startsWith('pg_logdir_ls') || name === 'pg_current_logfile',
    reason: 'reads or writes files on the database server (their content could come back in an error message)',
  },
  {
    class: 'large-object',
    matches: (name) => name.startsWith('lo_') || name === 'loread' || name === 'lowrite',
    reason: 'accesses large objects, which can import or export server files',
  },
  {
    class: 'foreign-connection',
    matches: (name, facts) =>
      name.startsWith('dblink') || name.startsWith('postgres_fdw') || facts.extension === 'dblink' || facts.extension === 'postgres_fdw',
    reason: 'opens a connection of its own, where the work commits whatever this transaction does',
  },
  {
    class: 'notification',
    matches: named('pg_notify'),
    reason: 'sends a notification to other sessions',
  },
  {
    class: 'runs-sql-text',
    matches: (name) => /^(query|cursor|table|schema|database)_to_xml/.test(name) || name === 'ts_stat' || name === 'ts_rewrite',
    reason: 'runs SQL passed to it as text, which the plan does not show and so cannot be checked',
  },
  {
    class: 'session-state',
    matches: named('setseed'),
    reason: 'changes the session state, which outlives the rolled-back transaction',
  },
];

/**
 * VOLATILE built-ins that only read or compute: the clock, random numbers, sleeping (bounded by the
 * statement timeout), sizes and statistics views (pg_stat_activity reads pg_stat_get_activity()).
 */
const ALLOWED_VOLATILE = new Set([
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  'pg_relation_size',
  'pg_total_relation_size',
  'pg_table_size',
  'pg_indexes_size',
  'pg_database_size',
  'pg_tablespace_size',
  'pg_lock_status',
  'pg_blocking_pids',
  'pg_safe_snapshot_blocking_pids',
  'pg_stat_get_activity',
  'pg_stat_get_progress_info',
  'pg_get_backend_memory_contexts',
]);

/** Built-in statistics readers: pg_stat_get_*() only report counters. */
function isStatisticsReader(name: string, facts: FunctionFacts): boolean {
  return facts.builtin && /^pg_stat_get_/.test(name);
}

export function classifyFunction(facts: FunctionFacts): FunctionVerdict {
  const name = facts.name.toLowerCase();
  for (const family of REFUSED_FAMILIES) {
    if (family.matches(name, facts)) return { allowed: false, class: family.class, reason: family.reason };
  }
  if (facts.volatility !== 'v') return { allowed: true };
  // The allowlist holds built-in names; a user's function of the same name elsewhere is not them.
  const trusted = facts.builtin || facts.extension === 'uuid-ossp' || facts.extension === 'pgcrypto';
  if (trusted && (ALLOWED_VOLATILE.has(name) || isStatisticsReader(name, facts))) return { allowed: true };
  return {
    allowed: false,
    class: 'volatile',
    reason: facts.builtin
      ? 'is VOLATILE and not on the list of harmless volatile functions (it may change state a rollback does not undo)'
      : 'is a VOLATILE function defined in this database; ragscope cannot see what it does, so it does not run it',
  };
}

/**
 * One line naming the function and why, e.g. `nextval() changes a sequence, …`. By name, not
 * signature: the plan names the function, not which overload, and all overloads share the verdict.
 */
export function describeRefusal(facts: FunctionFacts, verdict: Exclude<FunctionVerdict, { allowed: true }>, via?: string): string {
  const qualified = facts.schema === 'pg_catalog' ? facts.name : `${facts.schema}.${facts.name}`;
  return `${qualified}()${via ? ` (${via})` : ''} ${verdict.reason}`;
}
