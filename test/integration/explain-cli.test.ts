import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDocumentStore } from '../../src/pipeline/store/open-store';
import type { DocumentStore } from '../../src/pipeline/store/document-store';
import type { SqlClient } from '../../src/db/sql-client';
import { SAMPLE_CORPUS } from '../../src/pipeline/corpus';
import { TEST_DATABASE_URL, uniqueSchema } from '../helpers/env';
import { runCli, type CliRun } from '../helpers/processes';

/** `ragscope explain` and `ragscope db seed` as a user runs them, against the test server and PGlite. */
describe('ragscope explain', () => {
  const schema = uniqueSchema('explaincli');
  const serverEnv = { DATABASE_URL: TEST_DATABASE_URL, RAGSCOPE_DB_SCHEMA: schema };
  let store: DocumentStore<SqlClient>;

  const expectUserError = (run: CliRun) => {
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
  };

  beforeAll(async () => {
    store = await openDocumentStore({ databaseUrl: TEST_DATABASE_URL, databaseSchema: schema });
  });

  afterAll(async () => {
    await store?.sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await store?.sql.close();
  });

  it('refuses DELETE without --allow-writes, saying how, and leaves the table alone', async () => {
    const run = await runCli(['explain', 'DELETE FROM documents'], serverEnv);
    expectUserError(run);
    expect(run.stderr).toContain('error: the statement writes, and explain runs read-only by default');
    expect(run.stderr).toContain('hint: pass --allow-writes to EXPLAIN ANALYZE it anyway: it runs inside a transaction that is always rolled back');
    expect(await store.count()).toBe(SAMPLE_CORPUS.length);
  });

  it('runs DELETE with --allow-writes and rolls it back: the table is unchanged', async () => {
    const before = await store.count();
    const run = await runCli(['explain', 'DELETE FROM documents', '--allow-writes'], serverEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('rolled back, writes allowed');
    expect(run.stdout).toMatch(/#1 Delete on documents/);
    expect(run.stdout).toMatch(new RegExp(`Seq Scan on documents .*${before} rows`));
    expect(await store.count()).toBe(before);
  });

  it('refuses two statements in one string', async () => {
    const run = await runCli(['explain', 'SELECT 1; DELETE FROM documents'], serverEnv);
    expectUserError(run);
    expect(run.stderr).toContain('error: found 2 statements; explain runs exactly one');
    expect(await store.count()).toBe(SAMPLE_CORPUS.length);
  });

  it("shows Postgres' message and the position of a syntax error, not a stack trace", async () => {
    const run = await runCli(['explain', 'SELECT * FORM documents'], serverEnv);
    expectUserError(run);
    expect(run.stderr).toBe('error: syntax error at or near "FORM"\nat line 1, column 10:\n  SELECT * FORM documents\n           ^\n');
  });

  it('binds --param values and prints { plan, findings, executionMs } with --json', async () => {
    const run = await runCli(['explain', 'SELECT id FROM documents WHERE topic = $1 ORDER BY id', '--param', 'ops', '--json'], serverEnv);
    expect(run.code, run.stderr).toBe(0);
    const output = JSON.parse(run.stdout) as { plan: { Plan: { 'Actual Rows': number } }; findings: unknown[]; executionMs: number };
    const opsDocuments = SAMPLE_CORPUS.filter((document) => document.topic === 'ops').length;
    expect(output.plan.Plan['Actual Rows']).toBe(opsDocuments);
    expect(Array.isArray(output.findings)).toBe(true);
    expect(output.executionMs).toBeGreaterThan(0);
  });

  it('applies --set to the statement only, so a small work_mem makes a sort spill', async () => {
    const run = await runCli(['explain', 'SELECT * FROM documents ORDER BY body', '--set', 'work_mem=64kB'], serverEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/WARNING\s+sort-spill at #\d/);
  });

  it('works out of the box on PGlite with the sample corpus as documents', async () => {
    const run = await runCli(['explain', "SELECT id, title FROM documents WHERE topic = 'ml' ORDER BY title"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('EXPLAIN ANALYZE on embedded PGlite');
    expect(run.stdout).toMatch(/-> Seq Scan on documents .* removed by filter/);
    expect(run.stdout).toMatch(/Filter: \(topic = 'ml'::text\)/);
  });
  it('refuses a function a rollback cannot undo, naming it, with exit 1, and notes the superuser once on stderr', async () => {
    const run = await runCli(['explain', "SELECT pg_advisory_lock(42), pg_read_file('/etc/hostname')"], serverEnv);
    expectUserError(run);
    expect(run.stderr).toContain('error: explain refused the statement before running it: pg_advisory_lock() takes or releases an advisory lock');
    expect(run.stderr).toContain('pg_read_file() reads or writes files on the database server');
    const fine = await runCli(['explain', 'SELECT count(*) FROM documents'], serverEnv);
    expect(fine.code, fine.stderr).toBe(0);
    expect(fine.stderr.match(/note: explain is running as a superuser/g)).toHaveLength(1);
  });

  it.each([
    ['PostgreSQL 15', true],
    ['PGlite', false],
  ])('--timeout 2 stops pg_sleep(60) on %s, whatever --set says', async (_backend, server) => {
    const env = server ? serverEnv : {};
    const refused = await runCli(['explain', 'SELECT pg_sleep(60)', '--timeout', '2', '--set', 'statement_timeout=0'], env);
    expectUserError(refused);
    expect(refused.stderr).toContain('error: --set statement_timeout is not allowed: it is the --timeout');
    const baseline = await runCli(['explain', 'SELECT 1'], env);
    expect(baseline.code, baseline.stderr).toBe(0);
    const slow = await runCli(['explain', 'SELECT pg_sleep(60)', '--timeout', '2', '--set', 'work_mem=1MB'], env, 120_000);
    expectUserError(slow);
    expect(slow.stderr).toContain('error: the statement ran longer than the 2 s statement timeout and was cancelled');
    // Over a plain run's time, a stopped pg_sleep(60) costs about the 2 s; 60 s if it ran to its end.
    process.stderr.write(`explain --timeout 2 on ${_backend}: ${slow.durationMs} ms (SELECT 1: ${baseline.durationMs} ms)\n`);
    expect(slow.durationMs - baseline.durationMs).toBeLessThan(30_000);
  });

  it('prints the SQL of the least-privilege role', async () => {
    const run = await runCli(['db', 'explain-role'], { RAGSCOPE_DB_SCHEMA: schema, RAGSCOPE_EXPLAIN_ROLE: 'ro_explain' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('CREATE ROLE "ro_explain" NOLOGIN NOSUPERUSER');
    expect(run.stdout).toContain(`GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO "ro_explain";`);
  });
});

describe('ragscope db seed', () => {
  const schema = uniqueSchema('seedcli');
  const serverEnv = { DATABASE_URL: TEST_DATABASE_URL, RAGSCOPE_DB_SCHEMA: schema };

  afterAll(async () => {
    const store = await openDocumentStore({ databaseUrl: TEST_DATABASE_URL, databaseSchema: schema });
    await store.sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await store.sql.close();
  });

  it('needs DATABASE_URL and says so', async () => {
    const run = await runCli(['db', 'seed', '--documents', '10']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: db seed loads a PostgreSQL server, and DATABASE_URL is not set');
    expect(run.stderr).toMatch(/^hint: set it, e\.g\. DATABASE_URL=/m);
  });

  it('creates the schema, loads corpus + N synthetic documents, and adds nothing the second time', async () => {
    const first = await runCli(['db', 'seed', '--documents', '5000'], serverEnv);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`seeded 5,000 new synthetic documents`);
    expect(first.stdout).toContain(`the table holds ${(SAMPLE_CORPUS.length + 5000).toLocaleString('en-US')} documents (analyzed)`);
    expect(first.stderr).toContain('5,000 / 5,000');

    const again = await runCli(['db', 'seed', '--documents', '5000'], serverEnv);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('seeded 0 new synthetic documents');
  });

  it('rejects a document count out of range', async () => {
    const run = await runCli(['db', 'seed', '--documents', 'lots'], serverEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('expected a whole number from 0 to 1000000');
  });
});
