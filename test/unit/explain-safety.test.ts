import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/contracts/errors';
import { explainRoleStatements } from '../../src/sql-plans/explain-role';
import { assertUserSettings, enforcedSettings } from '../../src/sql-plans/explain-settings';
import { classifyFunction, describeRefusal, type FunctionFacts, type FunctionRefusalClass } from '../../src/sql-plans/function-safety';
import { expressionCalls, planCalls } from '../../src/sql-plans/plan-calls';

const builtin = (name: string, volatility: FunctionFacts['volatility'] = 'v'): FunctionFacts => ({
  name,
  schema: 'pg_catalog',
  signature: `${name}()`,
  volatility,
  builtin: true,
});
const userDefined = (name: string, volatility: FunctionFacts['volatility'], extension?: string): FunctionFacts => ({
  name,
  schema: 'public',
  signature: `${name}()`,
  volatility,
  builtin: false,
  ...(extension ? { extension } : {}),
});

const refused: [FunctionFacts, FunctionRefusalClass][] = [
  [builtin('nextval'), 'sequence'],
  [builtin('setval'), 'sequence'],
  [builtin('currval'), 'sequence'],
  [builtin('pg_advisory_lock'), 'advisory-lock'],
  [builtin('pg_advisory_xact_lock_shared'), 'advisory-lock'],
  [builtin('pg_try_advisory_lock'), 'advisory-lock'],
  [builtin('pg_advisory_unlock_all'), 'advisory-lock'],
  [builtin('pg_terminate_backend'), 'backend-signal'],
  [builtin('pg_cancel_backend'), 'backend-signal'],
  [builtin('pg_log_backend_memory_contexts'), 'backend-signal'],
  [builtin('pg_promote'), 'backend-signal'],
  [builtin('pg_create_physical_replication_slot'), 'replication'],
  [builtin('pg_create_logical_replication_slot'), 'replication'],
  [builtin('pg_drop_replication_slot'), 'replication'],
  [builtin('pg_copy_logical_replication_slot'), 'replication'],
  [builtin('pg_replication_slot_advance'), 'replication'],
  [builtin('pg_replication_origin_create'), 'replication'],
  [builtin('pg_logical_slot_get_changes'), 'replication'],
  [builtin('pg_logical_emit_message'), 'replication'],
  [builtin('pg_switch_wal'), 'replication'],
  [builtin('pg_create_restore_point'), 'replication'],
  [builtin('pg_backup_start'), 'replication'],
  [builtin('pg_wal_replay_pause'), 'replication'],
  [builtin('pg_export_snapshot'), 'replication'],
  [builtin('pg_reload_conf'), 'configuration'],
  [builtin('pg_rotate_logfile'), 'configuration'],
  [builtin('set_config'), 'configuration'],
  [builtin('pg_stat_reset'), 'statistics-reset'],
  [builtin('pg_stat_reset_shared'), 'statistics-reset'],
  [builtin('pg_stat_reset_single_table_counters'), 'statistics-reset'],
  [userDefined('pg_stat_statements_reset', 'v', 'pg_stat_statements'), 'statistics-reset'],
  [builtin('pg_read_file'), 'file-access'],
  [builtin('pg_read_binary_file'), 'file-access'],
  [builtin('pg_ls_dir'), 'file-access'],
  [builtin('pg_ls_waldir'), 'file-access'],
  [builtin('pg_stat_file'), 'file-access'],
  [userDefined('pg_file_write', 'v', 'adminpack'), 'file-access'],
  [builtin('lo_import'), 'large-object'],
  [builtin('lo_export'), 'large-object'],
  [builtin('lo_get'), 'large-object'],
  [builtin('loread'), 'large-object'],
  [userDefined('dblink_exec', 'v', 'dblink'), 'foreign-connection'],
  [userDefined('dblink', 'v', 'dblink'), 'foreign-connection'],
  [userDefined('postgres_fdw_disconnect_all', 'v', 'postgres_fdw'), 'foreign-connection'],
  [builtin('pg_notify'), 'notification'],
  [builtin('query_to_xml'), 'runs-sql-text'],
  [builtin('table_to_xml', 's'), 'runs-sql-text'],
  [builtin('ts_stat'), 'runs-sql-text'],
  [builtin('setseed'), 'session-state'],
  [builtin('txid_current_if_assigned'), 'volatile'],
  [userDefined('bump_counter', 'v'), 'volatile'],
  [userDefined('random', 'v'), 'volatile'],
];

const allowed: FunctionFacts[] = [
  builtin('random'),
  builtin('clock_timestamp'),
  builtin('timeofday'),
  builtin('gen_random_uuid'),
  builtin('pg_sleep'),
  builtin('now', 's'),
  builtin('lower', 'i'),
  builtin('pg_relation_size'),
  builtin('pg_stat_get_activity', 's'),
  builtin('pg_stat_get_numscans'),
  builtin('pg_lock_status'),
  userDefined('uuid_generate_v4', 'v', 'uuid-ossp'),
  userDefined('my_stable_lookup', 's'),
  userDefined('my_immutable_math', 'i'),
];

describe('classifyFunction', () => {
  it.each(refused.map(([facts, expected]) => [facts.name, facts, expected] as const))('refuses %s', (_name, facts, expected) => {
    const verdict = classifyFunction(facts);
    expect(verdict).toMatchObject({ allowed: false, class: expected });
  });

  it.each(allowed.map((facts) => [facts.name, facts] as const))('allows %s', (_name, facts) => {
    expect(classifyFunction(facts)).toEqual({ allowed: true });
  });

  it('names the function, its schema when not pg_catalog, and what called it', () => {
    const facts = userDefined('bump_counter', 'v');
    const verdict = classifyFunction(facts);
    if (verdict.allowed) throw new Error('expected a refusal');
    expect(describeRefusal(facts, verdict, 'trigger audit on public.items')).toBe(
      'public.bump_counter() (trigger audit on public.items) is a VOLATILE function defined in this database; ragscope cannot see what it does, so it does not run it',
    );
    expect(describeRefusal(builtin('nextval'), { allowed: false, class: 'sequence', reason: 'x' })).toBe('nextval() x');
  });
});

describe('planCalls', () => {
  it('finds calls in outputs, filters, InitPlans, CTEs, function scans, casts and operators', () => {
    const plan = {
      Plan: {
        'Node Type': 'Nested Loop',
        Output: ["(pg_read_file('/etc/hostname'::text))::integer", '$1'],
        Plans: [
          { 'Node Type': 'Result', 'Parent Relationship': 'InitPlan', 'Subplan Name': 'CTE x', Output: ["nextval('s'::regclass)"] },
          { 'Node Type': 'CTE Scan', 'CTE Name': 'x', Alias: 'lower', Filter: "(random() > '0.5'::double precision)" },
          { 'Node Type': 'Function Scan', 'Function Name': 'generate_series', Schema: 'pg_catalog', 'Function Call': 'generate_series(1, 3)' },
          { 'Node Type': 'Seq Scan', Filter: '((a.x OPERATOR(public.###) 1) AND (public.f(a.y) = ANY (\'{1}\'::integer[])) AND ("Odd Name"(a.z) IS NOT NULL))' },
          { 'Node Type': 'ModifyTable', Operation: 'Insert', 'Relation Name': 'items', Schema: 'app' },
        ],
      },
    };
    const calls = planCalls([plan]);
    expect(calls.functions).toEqual(
      expect.arrayContaining([
        { name: 'pg_read_file' },
        { name: 'nextval' },
        { name: 'random' },
        { name: 'generate_series', schema: 'pg_catalog' },
        { name: 'generate_series' },
        { name: 'f', schema: 'public' },
        { name: 'Odd Name' },
      ]),
    );
    expect(calls.functions).not.toContainEqual({ name: 'any' });
    expect(calls.functions).not.toContainEqual({ name: 'lower' });
    expect(calls.castTargets).toEqual(expect.arrayContaining(['integer', 'text', 'regclass', 'double precision', 'integer[]']));
    expect(calls.operators).toEqual(expect.arrayContaining([{ name: '>' }, { name: '=' }, { name: '###', schema: 'public' }]));
    expect(calls.modifiedRelations).toEqual([{ name: 'items', schema: 'app' }]);
  });

  it('does not read calls out of string literals', () => {
    expect(expressionCalls("('nextval(x)'::text || lower(\"Name\"))").functions).toEqual([{ name: 'lower' }]);
    expect(expressionCalls("nextval('items_id_seq'::regclass)").functions).toEqual([{ name: 'nextval' }]);
  });
});

describe('explain settings', () => {
  it.each(['statement_timeout', 'STATEMENT_TIMEOUT', 'lock_timeout', 'idle_in_transaction_session_timeout', 'transaction_read_only', 'default_transaction_read_only', 'role', 'session_authorization', 'search_path', 'session_replication_role'])(
    'refuses --set %s',
    (name) => {
      expect(() => assertUserSettings({ [name]: '0' })).toThrow(ValidationError);
      expect(() => assertUserSettings({ [name]: '0' })).toThrow(new RegExp(`--set ${name} is not allowed`));
    },
  );

  it('allows planner and memory settings', () => {
    expect(() => assertUserSettings({ work_mem: '64kB', enable_seqscan: 'off', jit: 'off' })).not.toThrow();
  });

  it('sets the timeouts with a lock_timeout of at most a second', () => {
    expect(enforcedSettings(2000)).toEqual([
      ['statement_timeout', '2000'],
      ['lock_timeout', '1000'],
      ['idle_in_transaction_session_timeout', '62000'],
    ]);
    expect(enforcedSettings(200)[1]).toEqual(['lock_timeout', '200']);
  });
});

describe('explainRoleStatements', () => {
  it('creates a NOLOGIN role with SELECT on the schema only, and lets the current user SET ROLE to it', () => {
    expect(explainRoleStatements('ragscope_explain', 'docs', false)).toEqual([
      'CREATE ROLE "ragscope_explain" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
      'GRANT USAGE ON SCHEMA "docs" TO "ragscope_explain"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "docs" TO "ragscope_explain"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA "docs" GRANT SELECT ON TABLES TO "ragscope_explain"',
      'GRANT "ragscope_explain" TO CURRENT_USER',
    ]);
    expect(explainRoleStatements('r', 'public', true)[0]).toBe('GRANT USAGE ON SCHEMA "public" TO "r"');
  });
});
