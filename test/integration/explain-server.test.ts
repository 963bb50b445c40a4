import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError, ValidationError } from '../../src/contracts/errors';
import { openSqlClient, type SqlClient } from '../../src/db/sql-client';
import type { PlanFinding, PlanRuleId } from '../../src/contracts/plan-finding';
import { explainWithFindings, type ExplainedStatement } from '../../src/sql-plans/explain-with-findings';
import { TEST_DATABASE_URL, uniqueSchema } from '../helpers/env';

/**
 * Every plan rule made to fire by a real situation on the PostgreSQL server (15 here), and the
 * numbers it reports checked against what the data must produce. Tables are UNLOGGED and have
 * autovacuum off, so nothing vacuums or analyses them behind the tests' backs.
 */
describe('plan rules on real PostgreSQL plans', () => {
  const schema = uniqueSchema('explain');
  let sql: SqlClient;
  let sharedBuffersBlocks = 0;

  // Serial plans unless a test asks for parallel ones: row counts per loop are then exact.
  const serial = { max_parallel_workers_per_gather: '0', jit: 'off' };
  const explain = (statement: string, settings: Record<string, string> = {}, params: unknown[] = []): Promise<ExplainedStatement> =>
    explainWithFindings(sql, statement, params, { schema, settings: { ...serial, ...settings } });
  const findingsOf = (profile: ExplainedStatement, rule: PlanRuleId): PlanFinding[] => profile.findings.filter((found) => found.rule === rule);
  const single = (profile: ExplainedStatement, rule: PlanRuleId): PlanFinding => {
    const found = findingsOf(profile, rule);
    expect(found, JSON.stringify(profile.findings, null, 2)).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    sql = await openSqlClient({ databaseUrl: TEST_DATABASE_URL });
    const table = (name: string) => `"${schema}".${name}`;
    await sql.query(`CREATE SCHEMA "${schema}"`);
    // 200,000 rows: n has 1,000 values (indexed), tag 500 (not indexed), grp 100,000 (not indexed).
    await sql.query(`
      CREATE UNLOGGED TABLE ${table('big')} WITH (autovacuum_enabled = false) AS
      SELECT i AS id, i % 1000 AS n, i % 100000 AS grp, 'tag-' || (i % 500) AS tag, md5(i::text) AS payload
      FROM generate_series(1, 200000) AS i`);
    await sql.query(`ALTER TABLE ${table('big')} ADD PRIMARY KEY (id)`);
    await sql.query(`CREATE INDEX big_n_idx ON ${table('big')} (n)`);
    await sql.query(`ANALYZE ${table('big')}`);
    // Never analysed and without an index (CREATE INDEX would record a row count): the planner guesses.
    await sql.query(`
      CREATE UNLOGGED TABLE ${table('nostats')} WITH (autovacuum_enabled = false) AS
      SELECT i AS id, (i % 10 <> 0)::int AS flag FROM generate_series(1, 100000) AS i`);
    // Never vacuumed, so its visibility map is empty and an index-only scan must visit the heap.
    await sql.query(`
      CREATE UNLOGGED TABLE ${table('unvacuumed')} WITH (autovacuum_enabled = false) AS
      SELECT i AS id, md5(i::text) AS payload FROM generate_series(1, 50000) AS i`);
    await sql.query(`ALTER TABLE ${table('unvacuumed')} ADD PRIMARY KEY (id)`);
    await sql.query(`ANALYZE ${table('unvacuumed')}`);
    // ~48 MB: more than a quarter of a 128 MB shared_buffers, so a seq scan goes through a 256 kB
    // ring buffer and keeps missing the cache however warm the server is.
    await sql.query(`
      CREATE UNLOGGED TABLE ${table('wide')} WITH (autovacuum_enabled = false) AS
      SELECT i AS id, repeat(md5(i::text), 20) AS padding FROM generate_series(1, 70000) AS i`);
    await sql.query(`ANALYZE ${table('wide')}`);
    const { rows } = await sql.query<{ blocks: string }>(
      `SELECT setting AS blocks FROM pg_settings WHERE name = 'shared_buffers'`,
    );
    sharedBuffersBlocks = Number(rows[0]?.blocks ?? 0);
  });

  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  it('seq-scan-needs-index: a filter on an unindexed column of 200,000 rows', async () => {
    const profile = await explain(`SELECT id FROM big WHERE tag = 'tag-7'`);
    const found = single(profile, 'seq-scan-needs-index');
    expect(found).toMatchObject({ severity: 'high', nodeType: 'Seq Scan', relation: 'big', nodePath: 'Seq Scan on big' });
    expect(found.numbers).toMatchObject({ rowsRead: 200_000, rowsReturned: 400, rowsRemoved: 199_600 });
    expect(found.numbers.removedPercent).toBeCloseTo(99.8, 1);
    expect(found.message).toBe('Seq Scan on big removes 99.8% of 200,000 rows');
    expect(found.suggestion).toContain('CREATE INDEX ON big (tag)');
    // The seq-scan finding covers the discarded rows; filter-discards would say the same again.
    expect(findingsOf(profile, 'filter-discards')).toEqual([]);
  });

  it('seq-scan-needs-index: loop-adjusts a parallel seq scan to the rows of all processes', async () => {
    const profile = await explain(`SELECT id FROM big WHERE tag = 'tag-7'`, {
      max_parallel_workers_per_gather: '2',
      parallel_setup_cost: '0',
      parallel_tuple_cost: '0',
      min_parallel_table_scan_size: '0',
    });
    const found = single(profile, 'seq-scan-needs-index');
    expect(found.nodePath).toBe('Gather > Parallel Seq Scan on big');
    // Before PostgreSQL 18, Actual Rows is a per-process average rounded to a whole row, so the
    // loop-adjusted total can be off by up to one row per process.
    expect(Math.abs(found.numbers.rowsRead! - 200_000)).toBeLessThanOrEqual(3);
    expect(Math.abs(found.numbers.rowsReturned! - 400)).toBeLessThanOrEqual(3);
  });

  it('filter-discards: an index scan whose filter throws away 75% of what the index finds', async () => {
    const profile = await explain(`SELECT count(*) FROM big WHERE id <= 40000 AND n % 4 = 0`, {
      enable_seqscan: 'off',
      enable_bitmapscan: 'off',
    });
    const found = single(profile, 'filter-discards');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Index Scan', relation: 'big' });
    expect(found.numbers).toMatchObject({ rowsRemoved: 30_000, rowsReturned: 10_000, removedPercent: 75 });
    expect(found.suggestion).toContain('CREATE INDEX ON big (id, n)');
  });

  it('filter-discards: a seq scan keeping 40% is a filter finding, not yet an index finding', async () => {
    const profile = await explain(`SELECT count(*) FROM big WHERE n < 400`, { enable_indexscan: 'off', enable_bitmapscan: 'off' });
    const found = single(profile, 'filter-discards');
    expect(found.numbers).toMatchObject({ rowsRemoved: 120_000, rowsReturned: 80_000, removedPercent: 60 });
    expect(findingsOf(profile, 'seq-scan-needs-index')).toEqual([]);
  });

  it('row-misestimate: a table that was never analysed', async () => {
    const profile = await explain(`SELECT count(*) FROM nostats WHERE flag = 1`);
    const found = single(profile, 'row-misestimate');
    expect(found).toMatchObject({ severity: 'high', nodeType: 'Seq Scan', relation: 'nostats' });
    expect(found.numbers.actualRows).toBe(90_000);
    // With no statistics PostgreSQL assumes 0.5% of rows match an equality.
    expect(found.numbers.plannedRows).toBeLessThan(900);
    expect(found.numbers.factor).toBeGreaterThanOrEqual(100);
    expect(found.message).toMatch(/^Seq Scan on nostats returned 90,000 rows where the planner expected [\d,]+ \(\d[\d,]*× under-estimated\)$/);
    expect(found.suggestion).toContain('ANALYZE nostats');

    await sql.query(`ANALYZE "${schema}".nostats`);
    const analysed = await explain(`SELECT count(*) FROM nostats WHERE flag = 1`);
    expect(findingsOf(analysed, 'row-misestimate')).toEqual([]);
  });

  it('sort-spill: a 200,000-row sort with work_mem = 64kB', async () => {
    const spilled = await explain(`SELECT * FROM big ORDER BY payload`, { work_mem: '64kB' });
    const found = single(spilled, 'sort-spill');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Sort', nodePath: 'Sort' });
    expect(found.numbers.rows).toBe(200_000);
    expect(found.numbers.diskKb).toBeGreaterThan(5_000);
    expect(found.message).toMatch(/^Sort spills to disk: external merge of 200,000 rows using [\d.,]+ MB of temp files$/);
    expect(found.suggestion).toContain('CREATE INDEX ON big (payload)');

    const inMemory = await explain(`SELECT * FROM big ORDER BY payload`, { work_mem: '256MB' });
    expect(findingsOf(inMemory, 'sort-spill')).toEqual([]);
  });

  it('hash-spill: a hash join whose hash table does not fit in work_mem', async () => {
    const joins = { enable_mergejoin: 'off', enable_nestloop: 'off' };
    const statement = `SELECT count(*) FROM big a JOIN big b ON a.id = b.id`;
    const spilled = await explain(statement, { ...joins, work_mem: '64kB' });
    const found = single(spilled, 'hash-spill');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Hash' });
    expect(found.nodePath).toMatch(/^Aggregate > Hash Join > Hash$/);
    expect(found.numbers.hashBatches).toBeGreaterThan(1);
    expect(found.numbers.rows).toBe(200_000);
    expect(found.numbers.peakMemoryKb).toBeGreaterThan(0);

    const inMemory = await explain(statement, { ...joins, work_mem: '256MB' });
    expect(findingsOf(inMemory, 'hash-spill')).toEqual([]);
  });

  it('hash-agg-spill: GROUP BY 100,000 groups with work_mem = 64kB', async () => {
    const statement = `SELECT grp, count(*) FROM big GROUP BY grp`;
    const spilled = await explain(statement, { work_mem: '64kB', enable_sort: 'off' });
    const found = single(spilled, 'hash-agg-spill');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Aggregate', nodePath: 'HashAggregate' });
    expect(found.numbers.groups).toBe(100_000);
    expect(found.numbers.diskUsageKb).toBeGreaterThan(0);
    expect(found.numbers.hashAggBatches).toBeGreaterThan(1);

    const inMemory = await explain(statement, { work_mem: '256MB', enable_sort: 'off' });
    expect(findingsOf(inMemory, 'hash-agg-spill')).toEqual([]);
  });

  it('heap-fetches: an index-only scan on a table never vacuumed, and none after VACUUM', async () => {
    const statement = `SELECT id FROM unvacuumed WHERE id <= 20000`;
    const forceIndexOnly = { enable_seqscan: 'off', enable_bitmapscan: 'off' };
    const profile = await explain(statement, forceIndexOnly);
    const found = single(profile, 'heap-fetches');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Index Only Scan', relation: 'unvacuumed' });
    expect(found.numbers).toMatchObject({ heapFetches: 20_000, rows: 20_000, heapFetchPercent: 100 });
    expect(found.suggestion).toContain('VACUUM unvacuumed');

    // VACUUM marks pages all-visible only when no older transaction is open anywhere in the
    // database; another test file's (or agent's) long statement can hold that back, so try again.
    let vacuumed = profile;
    for (let attempt = 0; attempt < 60; attempt++) {
      await sql.query(`VACUUM "${schema}".unvacuumed`);
      vacuumed = await explain(statement, forceIndexOnly);
      if (findingsOf(vacuumed, 'heap-fetches').length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(findingsOf(vacuumed, 'heap-fetches')).toEqual([]);
  });

  it('lossy-bitmap: a bitmap over half the table with work_mem = 64kB', async () => {
    const statement = `SELECT count(*) FROM big WHERE n < 500`;
    const bitmapOnly = { enable_seqscan: 'off', enable_indexscan: 'off', enable_indexonlyscan: 'off' };
    const lossy = await explain(statement, { ...bitmapOnly, work_mem: '64kB' });
    const found = single(lossy, 'lossy-bitmap');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Bitmap Heap Scan', relation: 'big' });
    expect(found.numbers.lossyHeapBlocks).toBeGreaterThan(0);
    expect(found.numbers.rowsRemovedByRecheck).toBeGreaterThan(0);

    const exact = await explain(statement, { ...bitmapOnly, work_mem: '64MB' });
    expect(findingsOf(exact, 'lossy-bitmap')).toEqual([]);
  });

  it('nested-loop-explosion: a forced nested loop with 5,000 inner index lookups', async () => {
    const forced = { enable_hashjoin: 'off', enable_mergejoin: 'off', enable_memoize: 'off' };
    const joined = await explain(`SELECT count(*) FROM generate_series(1, 5000) AS g JOIN big b ON b.id = g`, forced);
    const found = single(joined, 'nested-loop-explosion');
    expect(found).toMatchObject({ nodeType: 'Nested Loop', nodePath: 'Aggregate > Nested Loop' });
    expect(found.numbers.innerLoops).toBe(5_000);
    expect(found.numbers.outerRows).toBe(5_000);
    expect(found.numbers.innerTimePercent).toBeGreaterThanOrEqual(10);
    expect(found.message).toMatch(/^Nested Loop runs its inner side \(Index (Only )?Scan using big_pkey on big b\) 5,000 times/);

    const fewLoops = await explain(`SELECT count(*) FROM generate_series(1, 500) AS g JOIN big b ON b.id = g`, forced);
    expect(findingsOf(fewLoops, 'nested-loop-explosion')).toEqual([]);
  });

  it('low-cache-hit: a seq scan of a table bigger than a quarter of shared_buffers', async (context) => {
    const { rows } = await sql.query<{ blocks: string }>(`SELECT pg_relation_size('"${schema}".wide') / 8192 AS blocks`);
    const tableBlocks = Number(rows[0]?.blocks);
    // Servers with a bigger shared_buffers keep the table cached: the rule is covered by the
    // recorded plans in test/unit/plan-rules.test.ts there.
    if (tableBlocks <= sharedBuffersBlocks / 4) context.skip();
    const profile = await explain(`SELECT count(*) FROM wide`);
    const found = single(profile, 'low-cache-hit');
    expect(found).toMatchObject({ severity: 'warning', nodeType: 'Seq Scan', relation: 'wide' });
    expect(found.numbers.sharedReadBlocks).toBeGreaterThanOrEqual(1_000);
    expect(found.numbers.readPercent).toBeGreaterThan(10);
    expect(found.numbers.sharedReadBlocks! + found.numbers.sharedHitBlocks!).toBeGreaterThanOrEqual(tableBlocks);
  });

  it('hot-node: a seq scan that evaluates md5() on every row owns most of the time', async () => {
    const profile = await explain(`SELECT count(*) FROM big WHERE md5(payload) LIKE 'ab%'`);
    const found = single(profile, 'hot-node');
    expect(found).toMatchObject({ severity: 'info', nodeType: 'Seq Scan', nodePath: 'Aggregate > Seq Scan on big' });
    expect(found.numbers.ownTimePercent).toBeGreaterThan(40);
    expect(found.numbers.ownTimeMs).toBeLessThanOrEqual(found.numbers.executionMs!);
    expect(found.numbers.executionMs).toBeCloseTo(profile.executionMs, 3);
  });

  it('a healthy indexed lookup produces no warnings', async () => {
    const profile = await explain(`SELECT * FROM big WHERE id = $1`, {}, ['4242']);
    expect(profile.plan.Plan['Node Type']).toBe('Index Scan');
    expect(profile.findings.filter((found) => found.severity !== 'info')).toEqual([]);
  });
});

describe('explain on the PostgreSQL server is safe to point at real data', () => {
  const schema = uniqueSchema('explainsafe');
  let sql: SqlClient;
  const countRows = async () => Number((await sql.query<{ count: string }>(`SELECT count(*) AS count FROM "${schema}".items`)).rows[0]?.count);

  beforeAll(async () => {
    sql = await openSqlClient({ databaseUrl: TEST_DATABASE_URL });
    await sql.query(`CREATE SCHEMA "${schema}"`);
    await sql.query(`CREATE TABLE "${schema}".items AS SELECT i AS id, 'item-' || i AS name FROM generate_series(1, 100) AS i`);
    await sql.query(`CREATE SEQUENCE "${schema}".item_ids`);
  });

  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  it('refuses a write unless allowed, and rolls an allowed one back', async () => {
    const refused = explainWithFindings(sql, 'DELETE FROM items', [], { schema });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toThrow(/writes, and explain runs read-only/);
    await expect(refused).rejects.toMatchObject({ hint: expect.stringMatching(/--allow-writes.*always rolled back/) });

    const allowed = await explainWithFindings(sql, 'DELETE FROM items WHERE id <= $1', ['60'], { schema, allowWrites: true });
    expect(allowed.plan.Plan['Node Type']).toBe('ModifyTable');
    expect(allowed.plan.Plan.Plans?.[0]?.['Actual Rows']).toBe(60);
    expect(await countRows()).toBe(100);
  });

  it('refuses a SELECT that writes through a function, before running it', async () => {
    const writing = explainWithFindings(sql, `SELECT nextval('item_ids')`, [], { schema });
    await expect(writing).rejects.toBeInstanceOf(ValidationError);
    await expect(writing).rejects.toThrow(/nextval\(\) changes a sequence/);
  });

  it('refuses two statements before they reach the server, and the server would too', async () => {
    await expect(explainWithFindings(sql, 'SELECT 1; DELETE FROM items', [], { schema })).rejects.toThrow(/found 2 statements/);
    // The extended protocol is what makes the server refuse; pg would use the simple one, which
    // runs both statements, for a call without parameters.
    await expect(sql.rolledBackTransaction((tx) => tx.query(`SELECT 1; DELETE FROM "${schema}".items`))).rejects.toThrow(
      /cannot insert multiple commands/,
    );
    expect(await countRows()).toBe(100);
  });

  it('binds parameters instead of splicing them', async () => {
    const profile = await explainWithFindings(sql, 'SELECT * FROM items WHERE name = $1', [`x'; DELETE FROM items; --`], { schema });
    expect(profile.plan.Plan['Actual Rows']).toBe(0);
    expect(await countRows()).toBe(100);
  });

  it('turns a syntax error into the server message with a caret under its position', async () => {
    const failed = explainWithFindings(sql, 'SELECT id\nFROM items WHRE id = 1', [], { schema });
    await expect(failed).rejects.toBeInstanceOf(UserError);
    await expect(failed).rejects.toThrow('syntax error at or near "id"\nat line 2, column 17:\n  FROM items WHRE id = 1\n                  ^');
  });

  it('cancels a statement that outlives its timeout', async () => {
    const slow = explainWithFindings(sql, 'SELECT pg_sleep(5)', [], { schema, statementTimeoutMs: 200 });
    await expect(slow).rejects.toThrow(/ran longer than the 0.2 s statement timeout/);
  });
});
