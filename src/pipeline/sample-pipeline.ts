import type { Attributes, Span } from '@opentelemetry/api';
import { loadConfig } from '../config/config';
import type { RagQueryData } from '../contracts/rag-query';
import { SAMPLE_CORPUS } from './corpus';
import { definePipeline, type PipelineContext, type PipelineOutput } from './define-pipeline';
import { EMBEDDING_DIMENSIONS, embed, tokenize } from './embed';
import { generateAnswer } from './generate';
import { rerankByCosine, rerankWithQuadraticDedupe } from './rerank';
import { DocumentStore, type StoreSql } from './store/document-store';

/**
 * ragscope's sample RAG pipeline, written with the public API only (`definePipeline`, `ctx.stage`,
 * `ctx.sql`): the worker loads it through the same path as `ragscope worker --pipeline <module>`.
 */

/**
 * How many full-text matches the rerank sees: wide enough that the cosine rerank, not the text
 * rank, decides the top sources; small enough that the production rerank stays a few milliseconds.
 */
export const RETRIEVE_CANDIDATES = 100;

export const STAGES = ['embed', 'retrieve', 'rerank', 'generate'] as const;

export interface SampleState {
  store: DocumentStore;
  /** Process-wide switch (RAGSCOPE_PLANT_BOTTLENECK); a job can also ask with plantBottleneck. */
  plantBottleneck: boolean;
}

type StageRunner = <T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T> | T) => Promise<T>;

/** One query through the four stages; `stage` is `ctx.stage` (tests may pass their own). */
export async function answerQuery(
  data: Pick<RagQueryData, 'query' | 'topK' | 'plantBottleneck'>,
  stage: StageRunner,
  state: SampleState,
): Promise<PipelineOutput> {
  const queryVector = await stage('embed', { 'embed.dimensions': EMBEDDING_DIMENSIONS }, (span) => {
    span.setAttribute('embed.tokens', tokenize(data.query).length);
    return embed(data.query);
  });

  // Its statement is a `rag.sql` span of its own (ctx.sql), EXPLAINed when the job is profiled.
  const retrieved = await stage('retrieve', { 'span.type': 'sql', 'db.system': 'postgresql', 'retrieve.limit': RETRIEVE_CANDIDATES }, async (span) => {
    const outcome = await state.store.search(data.query, RETRIEVE_CANDIDATES);
    span.setAttributes({ 'retrieve.rows': outcome.candidates.length, 'db.backend': state.store.sql.kind });
    return outcome;
  });

  const planted = data.plantBottleneck ?? state.plantBottleneck;
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

  return { answer, sources: ranked.map((source) => ({ id: source.id, title: source.title, score: roundScore(source.score) })) };
}

/** Six decimals: enough to order sources, and identical wherever floating point agrees that far. */
function roundScore(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** The document store on `sql`, schema created and the sample corpus loaded (present documents are left as they are). */
export async function openSampleStore(sql: StoreSql, schema: string): Promise<DocumentStore> {
  const store = new DocumentStore(sql, schema);
  await store.ensureSchema();
  await store.insert([...SAMPLE_CORPUS]);
  return store;
}

export const pipeline = definePipeline<SampleState>({
  name: 'sample',
  async setup(ctx) {
    // Its own knobs, read as any pipeline reads its environment.
    const { databaseSchema, plantBottleneck } = loadConfig();
    return { store: await openSampleStore(ctx.sql, databaseSchema), plantBottleneck };
  },
  run: (input, ctx: PipelineContext<SampleState>) => answerQuery(input, (name, attributes, work) => ctx.stage(name, attributes, work), ctx.state),
});

export default pipeline;
