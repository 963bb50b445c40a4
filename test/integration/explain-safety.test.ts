import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, UserError, ValidationError } from '../../src/contracts/errors';
import { openSqlClient, type SqlClient } from '../../src/db/sql-client';
import { explainRoleStatements } from '../../src/sql-plans/explain-role';
import { SUPERUSER_NOTE } from '../../src/sql-plans/explain-runner';
import { explainWithFindings, type ExplainedStatement } from '../../src/sql-plans/explain-with-findings';
import type { ExplainOptions } from '../../src/sql-plans/explain-runner';
import { TEST_DATABASE_URL, uniqueSchema } from '../helpers/env';

/**
 * explain as a safety boundary on the PostgreSQL 15 test server, connected as a superuser: every
 * statement of issue #13's table (and more of the refused classes) is refused before it runs, and
 * the catalogs show no trace of it afterwards; harmless statements still get plans.
 */
describe('explain refuses what a rollback cannot undo', () => {
  const schema = uniqueSchema('safety');
  const slot = `${schema}_slot`;
  const advisoryKey = 987_654_321 + Math.floor(Math.random() * 1000);
  const role = `${schema}_role`;
  const superRole = `${schema}_super`;
  const signalRole = `${schema}_signal`;
  let sql: SqlClient;
  let victim: pg.Client;
  let victimPid = 0;
  let dblinkAvailable = false;
  let before: Awaited<ReturnType<typeof traces>>;

  const explain = (statement: string, options: ExplainOptions = {}): Promise<ExplainedStatement> =>
    explainWithFindings(sql, statement, [], { schema, ...options });

  /** Everything a statement that got through would have left behind. */
  const traces = async () => {
    const one = async <T>(query: string, params: unknown[] = []) => (await sql.query<T>(query, params)).rows[0]!;
    return {
      rows: (await one<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".t`)).n,
      sequence: await one<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM "${schema}".s`),
      slots: (await one<{ n: number }>('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [slot])).n,
      advisoryLocks: (await one<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1`, [advisoryKey])).n,
      victimAlive: (await one<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [victimPid])).n,
      confLoaded: (await one<{ t: string }>('SELECT pg_conf_load_time()::text AS t')).t,
      bgwriterReset: (await one<{ t: string }>('SELECT stats_reset::text AS t FROM pg_stat_bgwriter')).t,
      largeObjects: (await one<{ n: number }>('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).n,
      backends: (await one<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, [schema])).n,
    };
  };

  beforeAll(async () => {
    sql = await openSqlClient({ databaseUrl: TEST_DATABASE_URL });
    const q = (text: string) => sql.query(text);
    await q(`CREATE SCHEMA "${schema}"`);
    await q(`CREATE TABLE "${schema}".t (id int)`);
    await q(`CREATE SEQUENCE "${schema}".s`);
    await q(`CREATE TABLE "${schema}".with_serial (id serial, note text)`);
    await q(`CREATE TABLE "${schema}".audited (id int)`);
    await q(`CREATE FUNCTION "${schema}".bump() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO "${schema}".t VALUES (42) RETURNING id'`);
    await q(`CREATE FUNCTION "${schema}".audit() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM pg_advisory_lock(${advisoryKey}); RETURN NEW; END'`);
    await q(`CREATE TRIGGER audit_insert AFTER INSERT ON "${schema}".audited FOR EACH ROW EXECUTE FUNCTION "${schema}".audit()`);
    await q(`CREATE VIEW "${schema}".ticket AS SELECT nextval('"${schema}".s') AS n`);
    // PL/pgSQL, so the planner cannot inline them and only the operator or cast names them.
    await q(`CREATE FUNCTION "${schema}".sneaky_eq(int, int) RETURNS boolean LANGUAGE plpgsql VOLATILE AS 'BEGIN RETURN setval(''"${schema}".s'', 99) > 0; END'`);
    await q(`CREATE OPERATOR "${schema}".=== (LEFTARG = int, RIGHTARG = int, FUNCTION = "${schema}".sneaky_eq)`);
    await q(`CREATE TYPE "${schema}".ticket_no AS (n bigint)`);
    await q(`CREATE FUNCTION "${schema}".to_ticket(int) RETURNS "${schema}".ticket_no LANGUAGE plpgsql VOLATILE AS 'BEGIN RETURN ROW(nextval(''"${schema}".s''))::"${schema}".ticket_no; END'`);
    await q(`CREATE CAST (int AS "${schema}".ticket_no) WITH FUNCTION "${schema}".to_ticket(int)`);
    await q(`CREATE TABLE "${schema}".pairs AS SELECT i AS id, i % 7 AS grp FROM generate_series(1, 500) AS i`);
    await q(`ANALYZE "${schema}".pairs`);
    const available = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'dblink'`);
    dblinkAvailable = available.rows[0]!.n === 1;
    if (dblinkAvailable) await q(`CREATE EXTENSION IF NOT EXISTS dblink SCHEMA "${schema}"`);
    victim = new pg.Client({ connectionString: TEST_DATABASE_URL, application_name: `${schema}_victim` });
    await victim.connect();
    victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    before = await traces();
  });

  afterAll(async () => {
    await victim?.end().catch(() => undefined);
    await sql?.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [slot]).catch(() => undefined);
    await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const name of [role, superRole, signalRole]) {
      await sql?.query(`DROP OWNED BY "${name}"`).catch(() => undefined);
      await sql?.query(`DROP ROLE IF EXISTS "${name}"`);
    }
    await sql?.close();
  });

  /** Issue #13's table, plus the other refused classes; each refusal must name the function. */
  const refusedStatements: [string, ExplainOptions, RegExp][] = [
    [`SELECT dblink_exec('dbname=test', 'INSERT INTO "SCHEMA".t VALUES (1)')`, {}, /dblink_exec\(\) .*opens a connection of its own/],
    [`SELECT pg_create_physical_replication_slot('SLOT', true)`, {}, /pg_create_physical_replication_slot\(\) controls replication or the WAL/],
    [`SELECT pg_terminate_backend(VICTIM)`, {}, /pg_terminate_backend\(\) signals another server process/],
    [`SELECT pg_cancel_backend(VICTIM)`, {}, /pg_cancel_backend\(\) signals another server process/],
    [`SELECT pg_reload_conf()`, {}, /pg_reload_conf\(\) changes server or session configuration/],
    [`SELECT pg_stat_reset_shared('bgwriter')`, {}, /pg_stat_reset_shared\(\) resets or flushes cumulative statistics/],
    [`SELECT pg_advisory_lock(KEY)`, {}, /pg_advisory_lock\(\) takes or releases an advisory lock/],
    [`SELECT pg_advisory_xact_lock(KEY)`, { allowWrites: true }, /pg_advisory_xact_lock\(\)/],
    [`SELECT nextval('"SCHEMA".s')`, { allowWrites: true }, /nextval\(\) changes a sequence, which a rollback does not undo/],
    [`WITH x AS MATERIALIZED (SELECT setval('"SCHEMA".s', 50)) SELECT * FROM x`, { allowWrites: true }, /setval\(\) changes a sequence/],
    [`SELECT CAST(pg_read_file('/etc/hostname') AS int)`, {}, /pg_read_file\(\) reads or writes files on the database server/],
    [`SELECT * FROM pg_ls_dir('.')`, {}, /pg_ls_dir\(\) reads or writes files/],
    [`SELECT lo_import('/etc/hostname')`, { allowWrites: true }, /lo_import\(\) accesses large objects/],
    [`SELECT pg_notify('chan', 'x')`, {}, /pg_notify\(\) sends a notification/],
    [`SELECT set_config('work_mem', '1MB', false)`, {}, /set_config\(\) changes server or session configuration/],
    [`SELECT query_to_xml('SELECT nextval(''"SCHEMA".s'')', true, false, '')`, {}, /query_to_xml\(\) runs SQL passed to it as text/],
    [`SELECT * FROM "SCHEMA".t WHERE id > (SELECT count(*) FROM pg_switch_wal())`, {}, /pg_switch_wal\(\) controls replication or the WAL/],
    [`SELECT "SCHEMA".bump()`, { allowWrites: true }, /"?SCHEMA"?\.bump\(\) is a VOLATILE function defined in this database/],
    [`SELECT * FROM "SCHEMA".ticket`, { allowWrites: true }, /nextval\(\) changes a sequence/],
    [`SELECT 1 FROM "SCHEMA".t WHERE id OPERATOR("SCHEMA".===) 1`, {}, /sneaky_eq\(\) \(operator ===\) is a VOLATILE function/],
    [`SELECT (1::"SCHEMA".ticket_no).n`, {}, /to_ticket\(\) \(cast to .*ticket_no\) is a VOLATILE function/],
    [`INSERT INTO "SCHEMA".audited VALUES (1)`, { allowWrites: true }, /audit\(\) \(trigger audit_insert on .*audited\) is a VOLATILE function/],
    [`INSERT INTO "SCHEMA".with_serial (note) VALUES ('x')`, { allowWrites: true }, /nextval\(\) changes a sequence/],
  ];

  it.each(refusedStatements)('refuses %s', async (template, options, expected) => {
    if (template.includes('dblink') && !dblinkAvailable) throw new Error('dblink is not in this server\'s contrib: install postgresql-contrib');
    const statement = template.replaceAll('SCHEMA', schema).replace('SLOT', slot).replace('VICTIM', String(victimPid)).replace('KEY', String(advisoryKey));
    const refused = explain(statement, options);
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toThrow(expected.source.includes('SCHEMA') ? new RegExp(expected.source.replaceAll('SCHEMA', schema)) : expected);
    await expect(refused).rejects.toThrow(/^explain refused the statement before running it: /);
  });

  it('left no trace: rows, sequence, slot, advisory locks, the victim session, config, statistics, large objects', async () => {
    const after = await traces();
    expect(after).toEqual(before);
    expect(after.victimAlive).toBe(1);
    expect((await victim.query('SELECT 1 AS ok')).rows[0]).toEqual({ ok: 1 });
  });

  it('does not let file contents out through an error message', async () => {
    const { rows } = await sql.query<{ content: string }>(`SELECT pg_read_file('/etc/hostname') AS content`);
    const hostname = rows[0]!.content.trim();
    const refused = explain(`SELECT CAST(pg_read_file('/etc/hostname') AS int)`);
    await expect(refused).rejects.toThrow(ValidationError);
    const message = await refused.catch((error: Error) => `${error.message} ${(error as UserError).hint ?? ''}`);
    expect(message).not.toContain(hostname);
  });

  it('still plans joins, sorts, CTEs, now() and random(), with findings, and notes the superuser once', async () => {
    const statements = [
      `SELECT a.id, b.grp FROM pairs a JOIN pairs b ON a.id = b.id WHERE a.grp = 3`,
      `SELECT * FROM pairs ORDER BY grp DESC, id`,
      `WITH g AS (SELECT grp, count(*) AS n FROM pairs GROUP BY grp) SELECT * FROM g WHERE n > 10`,
      `SELECT now(), clock_timestamp(), random(), gen_random_uuid(), id FROM pairs WHERE random() < 2 LIMIT 5`,
      `SELECT pg_sleep(0.01), count(*) FROM pg_stat_activity`,
    ];
    for (const statement of statements) {
      const profile = await explain(statement);
      expect(profile.plan.Plan['Node Type'], statement).toBeTruthy();
      expect(Array.isArray(profile.findings)).toBe(true);
      expect(profile.notes).toEqual([SUPERUSER_NOTE]);
    }
    const deleted = await explain(`DELETE FROM pairs WHERE id <= 10`, { allowWrites: true });
    expect(deleted.plan.Plan['Node Type']).toBe('ModifyTable');
    expect((await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".pairs`)).rows[0]!.n).toBe(500);
  });

  it('refuses --set of the timeouts, the role and read-only, and holds the timeout whatever else is set', async () => {
    for (const name of ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'transaction_read_only', 'role', 'session_authorization']) {
      await expect(explain('SELECT 1', { settings: { [name]: '0' } })).rejects.toThrow(new RegExp(`--set ${name} is not allowed`));
    }
    const startedAt = performance.now();
    const slow = explain(`SELECT pg_sleep(60) /* ${schema} */`, { statementTimeoutMs: 2000, settings: { work_mem: '1MB', enable_seqscan: 'off' } });
    await expect(slow).rejects.toThrow(/ran longer than the 2 s statement timeout and was cancelled/);
    // pg_sleep(60) running to its end would take 60 s; the bound is far from both.
    expect(performance.now() - startedAt).toBeLessThan(30_000);
    expect((await traces()).backends).toBe(0);
  });

  it('waits at most lock_timeout for a lock another session holds', async () => {
    await victim.query('BEGIN');
    await victim.query(`LOCK TABLE "${schema}".pairs IN ACCESS EXCLUSIVE MODE`);
    try {
      await expect(explain('SELECT count(*) FROM pairs', { statementTimeoutMs: 20_000 })).rejects.toThrow(/lock timeout/);
    } finally {
      await victim.query('ROLLBACK');
    }
  });

  it('runs under RAGSCOPE_EXPLAIN_ROLE, which cannot do more than its grants', async () => {
    for (const statement of explainRoleStatements(role, schema, false)) await sql.query(statement);
    const asRole = await explain('SELECT count(*) FROM pairs', { role });
    expect(asRole.plan.Plan['Node Type']).toBe('Aggregate');
    expect(asRole.notes).toEqual([]);
    // The role has SELECT only: even an allowed write fails on privileges, and nothing changes.
    await expect(explain('DELETE FROM pairs', { role, allowWrites: true })).rejects.toThrow(/permission denied for table pairs/);

    await expect(explain('SELECT 1', { role: `${schema}_missing` })).rejects.toThrow(ConfigError);
    await sql.query(`CREATE ROLE "${superRole}" SUPERUSER NOLOGIN`);
    await expect(explain('SELECT 1', { role: superRole })).rejects.toThrow(/is a superuser/);
    await sql.query(`CREATE ROLE "${signalRole}" NOLOGIN IN ROLE pg_signal_backend`);
    await expect(explain('SELECT 1', { role: signalRole })).rejects.toThrow(/is a member of pg_signal_backend/);
  });
});
