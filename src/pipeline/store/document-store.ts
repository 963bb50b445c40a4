import type { PipelineSql } from '../traced-sql';
import type { Candidate } from '../rerank';
import { tokenize } from '../embed';

export interface CorpusDocument {
  id: string;
  topic: string;
  title: string;
  body: string;
}

export interface SearchOutcome {
  candidates: Candidate[];
  /** The statement that ran, with placeholders: safe to tag on a span, and EXPLAIN-able later. */
  sql: string;
  params: unknown[];
}

// Any constant works; it only has to be the same in every process that creates the schema.
const SCHEMA_LOCK_KEY = 727_001;

/**
 * Documents with a full-text index: a tsvector generated from title (weight A) and body (weight B),
 * indexed with GIN so `@@` is an index lookup, not a scan.
 */
/** What the store needs of a SQL client: `ctx.sql` in a pipeline, a plain SqlClient in tools and tests. */
export type StoreSql = Pick<PipelineSql, 'kind' | 'query' | 'transaction'>;

export class DocumentStore<Sql extends StoreSql = StoreSql> {
  private readonly table: string;

  constructor(
    readonly sql: Sql,
    readonly schema: string,
  ) {
    // `schema` comes from validated config (a plain lower-case identifier), never from a job.
    this.table = `"${schema}".documents`;
  }

  /** Idempotent, and safe when several workers start at once on one server. */
  async ensureSchema(): Promise<void> {
    await this.sql.transaction(async (tx) => {
      if (this.sql.kind === 'server') await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
      await tx.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await tx.query(`
        CREATE TABLE IF NOT EXISTS ${this.table} (
          id    text PRIMARY KEY,
          topic text NOT NULL,
          title text NOT NULL,
          body  text NOT NULL,
          tsv   tsvector GENERATED ALWAYS AS (
                  setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
                ) STORED
        )`);
      await tx.query(`CREATE INDEX IF NOT EXISTS documents_tsv_idx ON ${this.table} USING GIN (tsv)`);
    });
  }

  /** Inserts documents whose id is new; returns how many were inserted. */
  async insert(documents: CorpusDocument[], batchSize = 1000): Promise<number> {
    let inserted = 0;
    for (let start = 0; start < documents.length; start += batchSize) {
      const batch = documents.slice(start, start + batchSize);
      // unnest() sends a whole batch as four array parameters: one round trip, no SQL splicing.
      const result = await this.sql.query<{ id: string }>(
        `INSERT INTO ${this.table} (id, topic, title, body)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
        [batch.map((doc) => doc.id), batch.map((doc) => doc.topic), batch.map((doc) => doc.title), batch.map((doc) => doc.body)],
      );
      inserted += result.rows.length;
    }
    return inserted;
  }

  async count(): Promise<number> {
    const result = await this.sql.query<{ count: string | number }>(`SELECT count(*) AS count FROM ${this.table}`);
    return Number(result.rows[0]?.count ?? 0);
  }

  /**
   * Candidates for the rerank: documents matching any query term, best text rank first. Terms are
   * OR-ed because a question rarely shares every word with its answer; the rerank sorts out the rest.
   */
  async search(queryText: string, limit: number): Promise<SearchOutcome> {
    const sql = `SELECT id, title, body, ts_rank_cd(tsv, query) AS text_rank
FROM ${this.table}, to_tsquery('english', $1) AS query
WHERE tsv @@ query
ORDER BY text_rank DESC, id
LIMIT $2`;
    const terms = [...new Set(tokenize(queryText))];
    const params = [terms.join(' | '), limit];
    if (terms.length === 0) return { candidates: [], sql, params };
    const result = await this.sql.query<{ id: string; title: string; body: string; text_rank: number }>(sql, params);
    return {
      candidates: result.rows.map((row) => ({
        id: row.id,
        title: row.title,
        body: row.body,
        textRank: Number(row.text_rank),
      })),
      sql,
      params,
    };
  }
}
