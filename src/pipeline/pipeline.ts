import type { Attributes, Span } from '@opentelemetry/api';
import type { RagscopeConfig } from '../config/config';
import type { RagQueryData } from '../contracts/rag-query';
import type { StageTiming } from '../contracts/stage-timing';
import { inSpan, type DatadogSpanType } from '../telemetry/spans';
import { EMBEDDING_DIMENSIONS, embed, tokenize } from './embed';
import { generateAnswer } from './generate';
import { rerankByCosine, rerankWithQuadraticDedupe } from './rerank';
import type { DocumentStore } from './store/document-store';
import { explainWithFindings } from '../sql-plans/explain-with-findings';
import type { JobPipeline, PipelineResult } from './job-pipeline';
import { openDocumentStore } from './store/open-store';

/**
 * How many full-text matches the rerank sees: wide enough that the cosine rerank, not the text
 * rank, decides the top sources; small enough that the production rerank stays a few milliseconds.
 */
export const RETRIEVE_CANDIDATES = 100;

export const STAGES = ['embed', 'retrieve', 'rerank', 'generate'] as const;
export type StageName = (typeof STAGES)[number];

/** Datadog span type of each stage's span: retrieve is a SQL query, the others in-process work. */
const STAGE_SPAN_TYPES: Record<StageName, DatadogSpanType> = { embed: 'custom', retrieve: 'sql', rerank: 'custom', generate: 'custom' };

export interface PipelineOptions {
  store: DocumentStore;
  /** Process-wide switch (RAGSCOPE_PLANT_BOTTLENECK); a job can also ask with plantBottleneck. */
  plantBottleneck: boolean;
  /**
   * Also capture EXPLAIN ANALYZE of the retrieve statement (run again, in a rolled-back read-only
   * transaction) and return its findings. Costs a second execution, so only profiled jobs ask.
   */
  explainRetrieve?: boolean;
}

export type { PipelineResult };

/**
 * The RAG pipeline, one span per stage (children of the active span, normally `rag.job`). This is
 * the only implementation: workers call it; HTTP and CLI only enqueue.
 */
export async function runRagPipeline(
  data: Pick<RagQueryData, 'query' | 'topK' | 'plantBottleneck'>,
  options: PipelineOptions,
): Promise<PipelineResult> {
  const stages: StageTiming[] = [];
  const stage = <T>(name: StageName, attributes: Attributes, work: (span: Span) => Promise<T> | T): Promise<T> =>
    inSpan(`rag.${name}`, { attributes, type: STAGE_SPAN_TYPES[name] }, async (span) => {
      const startedAt = performance.now();
      try {
        return await work(span);
      } finally {
        stages.push({ name, durationMs: roundMs(performance.now() - startedAt) });
      }
    });

  const queryVector = await stage('embed', { 'embed.dimensions': EMBEDDING_DIMENSIONS }, (span) => {
    span.setAttribute('embed.tokens', tokenize(data.query).length);
    return embed(data.query);
  });

  const retrieved = await stage('retrieve', { 'db.system': 'postgresql', 'retrieve.limit': RETRIEVE_CANDIDATES }, async (span) => {
    const outcome = await options.store.search(data.query, RETRIEVE_CANDIDATES);
    span.setAttributes({ 'retrieve.rows': outcome.candidates.length, 'db.statement': outcome.sql, 'db.backend': options.store.sql.kind });
    if (!options.explainRetrieve || outcome.candidates.length === 0) return { ...outcome, findings: undefined };
    try {
      const statement = await explainWithFindings(options.store.sql, outcome.sql, outcome.params);
      span.setAttributes({
        'db.plan.node_type': statement.plan.Plan['Node Type'],
        'db.plan.rows': statement.plan.Plan['Actual Rows'] ?? 0,
        'db.plan.execution_ms': statement.executionMs,
        'db.plan.findings': statement.findings.length,
      });
      return { ...outcome, findings: statement.findings };
    } catch (error) {
      // A plan is a diagnostic: failing to capture one must not fail the job.
      span.addEvent('explain failed', { 'exception.message': (error as Error).message });
      return { ...outcome, findings: undefined };
    }
  });

  const planted = data.plantBottleneck ?? options.plantBottleneck;
  const ranked = await stage(
    'rerank',
    { 'rerank.candidates': retrieved.candidates.length, 'rerank.top_k': data.topK, 'rerank.algorithm': planted ? 'quadratic-dedupe' : 'cosine-sort' },
    () =>
      planted
        ? rerankWithQuadraticDedupe(queryVector, retrieved.candidates, data.topK)
        : rerankByCosine(queryVector, retrieved.candidates, data.topK),
  );

  const answer = await stage('generate', { 'generate.sources': ranked.length }, (span) => {
    const text = generateAnswer(data.query, ranked);
    span.setAttribute('answer.length', text.length);
    return text;
  });

  return {
    answer,
    sources: ranked.map((source) => ({ id: source.id, title: source.title, score: roundScore(source.score) })),
    stages,
    ...(retrieved.findings ? { findings: retrieved.findings } : {}),
  };
}

function roundMs(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Six decimals: enough to order sources, and identical wherever floating point agrees that far. */
function roundScore(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** The sample pipeline on its document store (PostgreSQL from DATABASE_URL or embedded PGlite). */
export async function openSamplePipeline(
  config: Pick<RagscopeConfig, 'databaseUrl' | 'databaseSchema' | 'plantBottleneck'>,
): Promise<JobPipeline & { store: DocumentStore }> {
  const store = await openDocumentStore(config);
  return {
    name: 'sample',
    database: store.sql.description,
    store,
    run: (data, options) => runRagPipeline(data, { store, plantBottleneck: config.plantBottleneck, explainRetrieve: options.explainSql }),
    close: () => store.sql.close(),
  };
}
