import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDocumentStore } from '../../src/pipeline/store/open-store';
import type { DocumentStore } from '../../src/pipeline/store/document-store';
import type { SqlClient } from '../../src/db/sql-client';
import type { Attributes, Span } from '@opentelemetry/api';
import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import { answerQuery } from '../../src/pipeline/sample-pipeline';
import { SAMPLE_CORPUS } from '../../src/pipeline/corpus';
import { TEST_DATABASE_URL, uniqueSchema } from '../helpers/env';

const QUERIES = [
  'How should Redis be configured so a job queue never loses jobs?',
  'GDPR data subject access request deadline',
  'rotate encryption keys in KMS',
  'why does my Node.js worker heap keep growing',
  'measuring retrieval quality with recall and nDCG',
  'PostgreSQL autovacuum and table bloat',
  'prompt injection in retrieved documents',
  'SOC 2 access review evidence',
];

/** The sample's stages run directly, without a worker: no span, just the order they ran in. */
async function runSample(query: string, store: DocumentStore<SqlClient>): Promise<{ answer: string; sources: unknown[]; stages: string[] }> {
  const stages: string[] = [];
  const stage = async <T>(name: string, _attributes: Attributes, work: (span: Span) => Promise<T> | T): Promise<T> => {
    stages.push(name);
    return work(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  };
  const output = await answerQuery({ query, topK: 5 }, stage, { store, plantBottleneck: false });
  return { ...output, stages };
}

describe('the same pipeline on PGlite and on the PostgreSQL server', () => {
  const schema = uniqueSchema('parity');
  let pglite: DocumentStore<SqlClient>;
  let server: DocumentStore<SqlClient>;

  beforeAll(async () => {
    pglite = await openDocumentStore({ databaseSchema: schema });
    server = await openDocumentStore({ databaseUrl: TEST_DATABASE_URL, databaseSchema: schema });
  });

  afterAll(async () => {
    await pglite?.sql.close();
    await server?.sql.close();
    const pool = new Pool({ connectionString: TEST_DATABASE_URL });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('loads the whole sample corpus into both, and a second load adds nothing', async () => {
    expect(await pglite.count()).toBe(SAMPLE_CORPUS.length);
    expect(await server.count()).toBe(SAMPLE_CORPUS.length);
    expect(await server.insert([...SAMPLE_CORPUS])).toBe(0);
  });

  it.each(QUERIES)('returns the same top sources for "%s"', async (query) => {
    const onPglite = await runSample(query, pglite);
    const onServer = await runSample(query, server);
    expect(onPglite.sources.length).toBeGreaterThan(0);
    expect(onServer.sources).toEqual(onPglite.sources);
    expect(onServer.answer).toBe(onPglite.answer);
  });

  it('finds candidates through the GIN index on the server', async () => {
    // Without this the planner may prefer a scan on 220 rows; the point is that the index serves @@.
    const plan = await server.sql.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM "${schema}".documents WHERE tsv @@ to_tsquery('english', 'redis')`,
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('documents_tsv_idx');
  });

  it('returns no sources, not an error, for a query of stop words only', async () => {
    const result = await runSample('what is the of', server);
    expect(result.sources).toEqual([]);
    expect(result.stages).toEqual(['embed', 'retrieve', 'rerank', 'generate']);
  });
});
