import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError, ValidationError } from '../../src/contracts/errors';
import { openSqlClient, type SqlClient } from '../../src/db/sql-client';
import { explainWithFindings } from '../../src/sql-plans/explain-with-findings';

/** The same capture on embedded PGlite (PostgreSQL 18 in WASM), the default without DATABASE_URL. */
describe('explain on PGlite', () => {
  let sql: SqlClient;
  const countRows = async () => Number((await sql.query<{ count: number }>('SELECT count(*)::int AS count FROM events')).rows[0]?.count);

  beforeAll(async () => {
    sql = await openSqlClient({});
    await sql.query(`
      CREATE TABLE events AS
      SELECT i AS id, 'kind-' || (i % 200) AS kind, md5(i::text) AS payload FROM generate_series(1, 20000) AS i`);
    await sql.query('ANALYZE events');
  });

  afterAll(async () => {
    await sql?.close();
  });

  it('seq-scan-needs-index: a filter on an unindexed column of 20,000 rows', async () => {
    const profile = await explainWithFindings(sql, `SELECT id FROM events WHERE kind = $1`, ['kind-7'], {});
    const found = profile.findings.find((finding) => finding.rule === 'seq-scan-needs-index');
    expect(found).toMatchObject({
      severity: 'warning',
      nodePath: 'Seq Scan on events',
      numbers: { rowsRead: 20_000, rowsReturned: 100, rowsRemoved: 19_900 },
      message: 'Seq Scan on events removes 99.5% of 20,000 rows',
      suggestion: 'add an index on events (kind): CREATE INDEX ON events (kind)',
    });
    expect(profile.executionMs).toBeGreaterThan(0);
    expect(profile.plan['Execution Time']).toBe(profile.executionMs);
  });

  it('sort-spill: a 20,000-row sort with work_mem = 64kB, and none with enough memory', async () => {
    const spilled = await explainWithFindings(sql, 'SELECT * FROM events ORDER BY payload', [], { settings: { work_mem: '64kB' } });
    const found = spilled.findings.find((finding) => finding.rule === 'sort-spill');
    expect(found).toMatchObject({ severity: 'warning', nodePath: 'Sort', numbers: { rows: 20_000, spilledProcesses: 1 } });
    expect(found!.numbers.diskKb).toBeGreaterThan(500);
    expect(found!.suggestion).toContain('CREATE INDEX ON events (payload)');

    const inMemory = await explainWithFindings(sql, 'SELECT * FROM events ORDER BY payload', [], { settings: { work_mem: '64MB' } });
    expect(inMemory.findings.filter((finding) => finding.rule === 'sort-spill')).toEqual([]);
  });

  it('refuses a write in read-only mode and rolls an allowed one back', async () => {
    await expect(explainWithFindings(sql, 'DELETE FROM events', [], {})).rejects.toBeInstanceOf(ValidationError);
    const deleted = await explainWithFindings(sql, 'DELETE FROM events', [], { allowWrites: true });
    expect(deleted.plan.Plan.Plans?.[0]?.['Actual Rows']).toBe(20_000);
    expect(await countRows()).toBe(20_000);
  });

  it('refuses two statements, also when the server is asked directly', async () => {
    await expect(explainWithFindings(sql, "SELECT ';'; DELETE FROM events", [], {})).rejects.toThrow(/found 2 statements/);
    await expect(sql.rolledBackTransaction((tx) => tx.query('SELECT 1; DELETE FROM events'))).rejects.toThrow(/cannot insert multiple commands/);
    expect(await countRows()).toBe(20_000);
  });

  it('reports a syntax error with its position', async () => {
    const failed = explainWithFindings(sql, 'SELECT * FORM events', [], {});
    await expect(failed).rejects.toBeInstanceOf(UserError);
    await expect(failed).rejects.toThrow('syntax error at or near "FORM"\nat line 1, column 10:\n  SELECT * FORM events\n           ^');
  });

  it('stops a statement past its timeout by terminating its thread, and stays usable', async () => {
    const startedAt = performance.now();
    const slow = explainWithFindings(sql, 'SELECT pg_sleep(60)', [], { statementTimeoutMs: 2000, settings: { work_mem: '1MB' } });
    await expect(slow).rejects.toThrow(/ran longer than the 2 s statement timeout and was cancelled/);
    // pg_sleep(60) running to its end would take 60 s; loading the copy takes a few.
    expect(performance.now() - startedAt).toBeLessThan(30_000);
    expect(await countRows()).toBe(20000);
    const after = await explainWithFindings(sql, 'SELECT count(*) FROM events', [], {});
    expect(after.plan.Plan['Node Type']).toBe('Aggregate');
  });

  it('refuses functions a rollback does not undo here too', async () => {
    await sql.query('CREATE SEQUENCE IF NOT EXISTS event_ids');
    await expect(explainWithFindings(sql, `SELECT nextval('event_ids')`, [], { allowWrites: true })).rejects.toThrow(/nextval\(\) changes a sequence/);
    await expect(explainWithFindings(sql, 'SELECT 1', [], { settings: { statement_timeout: '0' } })).rejects.toThrow(/--set statement_timeout is not allowed/);
    expect((await sql.query<{ called: boolean }>('SELECT is_called AS called FROM event_ids')).rows[0]?.called).toBe(false);
  });
});
