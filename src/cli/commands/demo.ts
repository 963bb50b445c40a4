import type { Command } from 'commander';
import { loadConfig, type RagscopeConfig } from '../../config/config';
import { createLogger } from '../../log';
import { startLocalIntake } from '../../telemetry/intake/intake-server';
import { renderWaterfall } from '../../telemetry/intake/waterfall';
import type { ExportedSpan } from '../../telemetry/intake/exported-span';
import { STAGES } from '../../pipeline/pipeline';
import { flushTraces, initTracing } from '../../telemetry/tracing';
import { formatHotspots, formatQueryResult, hotspotRows } from './enqueue';
import { runCommand } from '../run-command';

const DEMO_QUERIES = [
  { query: 'How should Redis be configured so a job queue never loses jobs?', userId: 'demo-ops' },
  { query: 'What must we do when a user asks us to delete their personal data under GDPR?', userId: 'demo-compliance' },
  {
    query: 'How do embeddings, cosine similarity, reranking and chunking decide which documents a RAG answer retrieves?',
    userId: 'demo-ml',
    plantBottleneck: true,
    profile: 'always' as const,
  },
];

/**
 * The guided tour on embedded defaults: a private trace intake, a worker in this process on
 * PGlite, three queries (one through the planted O(n²) rerank), then each answer with its stage
 * timings and the trace waterfall that crossed the queue.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run intake, worker and queries in one process on embedded defaults and print what ragscope sees')
    .action(
      runCommand(async () => {
        const intake = await startLocalIntake({ port: 0 });
        const config: RagscopeConfig = {
          ...loadConfig(),
          agentUrl: intake.url,
          // Its own prefix: the demo never touches real queues, and cleans up after itself.
          queuePrefix: `ragscope-demo-${process.pid}`,
          logLevel: 'warn',
        };
        // A tour shows every trace; production keeps DD_TRACE_SAMPLE_RATE (0.1 by default).
        config.sampling = { ...config.sampling, baseRate: 1, highVolumeRate: 1 };
        initTracing(config, { flushIntervalMs: 200 });
        const { startWorkers } = await import('../../../workers');
        const { RagscopeProducer } = await import('../../queue/producer');
        const say = (text: string): boolean => process.stdout.write(`${text}\n`);

        say(`ragscope demo  (trace intake ${intake.url}, database: embedded PGlite unless DATABASE_URL is set)\n`);
        const producer = new RagscopeProducer(config);
        const running = await startWorkers(config, createLogger(config.logLevel, 'ragscope-demo'));
        try {
          for (const [index, input] of DEMO_QUERIES.entries()) {
            const enqueued = await producer.enqueueQuery(input);
            const result = await producer.waitForQueryResult(enqueued.jobId, 60_000);
            say(`── query ${index + 1}/${DEMO_QUERIES.length}${input.plantBottleneck ? ' (planted O(n²) rerank)' : ''}: ${input.query}`);
            say(formatQueryResult(result));
            if (result.hotspots) say(formatHotspots(hotspotRows(result.hotspots), 'ms', result.profilePath));
            await flushTraces();
            const spans = await waitForSpans(() => intake.store.trace(enqueued.traceId ?? ''));
            say(spans.length > 0 ? renderWaterfall(spans) : '(no trace: tracing is off, DD_TRACE_ENABLED=false)');
            say('');
          }
          say('Next: `ragscope intake` + `ragscope worker` + `ragscope enqueue query "..." -u you --wait`, then `ragscope trace <id>`.');
        } finally {
          const queue = await producer.queue('rag-query');
          await running.close();
          await queue.obliterate({ force: true }).catch(() => undefined);
          await producer.close();
          await intake.close();
        }
      }),
    );
}

const EXPECTED_SPANS = ['rag.enqueue', 'rag.job', ...STAGES.map((stage) => `rag.${stage}`)];

/** Polls until the producer's and the worker's spans have all arrived, or 5 s pass. */
async function waitForSpans(read: () => ExportedSpan[]): Promise<ExportedSpan[]> {
  const complete = (spans: ExportedSpan[]) => EXPECTED_SPANS.every((name) => spans.some((span) => span.name === name));
  const deadline = Date.now() + 5000;
  let spans = read();
  while (!complete(spans) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    spans = read();
  }
  return spans;
}
