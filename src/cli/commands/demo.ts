import type { Command } from 'commander';
import { describeRedisTarget, loadConfig, type RagscopeConfig } from '../../config/config';
import { createLogger } from '../../log';
import { redisForDemo } from '../../queue/private-redis';
import { QUEUES } from '../../contracts/queues';
import { startLocalIntake } from '../../telemetry/intake/intake-server';
import { renderWaterfall } from '../../telemetry/intake/waterfall';
import type { ExportedSpan } from '../../telemetry/intake/exported-span';
import { STAGES } from '../../pipeline/sample-pipeline';
import { flushTraces, initTracing } from '../../telemetry/tracing';
import { formatLeakCheckResult, formatQueryResult } from '../format';
import { closeInOrder, shutdownSignal } from '../lifecycle';
import { runCommand } from '../run-command';

// The tour profiles exactly one query: left to the 1% capture rate, either of the others could be
// profiled too, now and then, and the tour would read differently from run to run.
const DEMO_QUERIES = [
  { query: 'How should Redis be configured so a job queue never loses jobs?', userId: 'demo-ops', profile: 'never' as const },
  { query: 'What must we do when a user asks us to delete their personal data under GDPR?', userId: 'demo-compliance', profile: 'never' as const },
  {
    query: 'How do embeddings, cosine similarity, reranking and chunking decide which documents a RAG answer retrieves?',
    userId: 'demo-ml',
    plantBottleneck: true,
    profile: 'always' as const,
  },
];

const EXPECTED_SPANS = ['rag.enqueue', 'rag.job', ...STAGES.map((stage) => `rag.${stage}`)];

/**
 * The guided tour on embedded defaults: a private trace intake (and Redis, if none answers), a
 * worker, the heap scheduler on a fast period and the HTTP server, all in this process on PGlite;
 * then queries (one through the planted O(n²) rerank, profiled) and two leak checks, with what
 * ragscope saw of each.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run intake, worker, scheduler and server in one process on embedded defaults and print what ragscope sees')
    .option('--keep-running', 'stay up afterwards (Ctrl-C to stop) to explore Bull Board, /metrics and /docs')
    .action(
      runCommand(async (options: { keepRunning?: boolean }) => {
        const say = (text = ''): boolean => process.stdout.write(`${text}\n`);
        const redis = await redisForDemo();
        const intake = await startLocalIntake({ port: 0 });
        const base = loadConfig(redis.url ? { ...process.env, REDIS_URL: redis.url } : process.env);
        const demoPrefix = `ragscope-demo-${process.pid}`;
        const config: RagscopeConfig = {
          ...base,
          agentUrl: intake.url,
          // Its own prefix: the demo never touches real queues, and cleans up after itself.
          // On a Cluster it is a hash tag, like every prefix there.
          queuePrefix: base.redis.kind === 'cluster' ? `{${demoPrefix}}` : demoPrefix,
          // The tour prints what matters; JSON log lines would only interleave with it.
          logLevel: 'error',
          // A tour shows every trace; production keeps DD_TRACE_SAMPLE_RATE (0.1 by default).
          sampling: { ...base.sampling, baseRate: 1, highVolumeRate: 1 },
          // Hours compressed into seconds, so the threshold is scaled too (0.3 MB/s).
          memory: { ...base.memory, sampleIntervalMs: 500, forceGc: true, leakThresholdMbPerHour: 1000 },
        };
        initTracing(config, { flushIntervalMs: 200 });
        const logger = createLogger(config.logLevel, 'ragscope-demo');
        const { startWorkers } = await import('../../../workers/index.js');
        const { RagscopeProducer } = await import('../../queue/producer.js');
        const { HeapSamplingScheduler } = await import('../../memory/heap-sampling-scheduler.js');
        const { buildServer } = await import('../../server/app.js');

        const producer = new RagscopeProducer(config);
        const running = await startWorkers(config, logger);
        const scheduler = await HeapSamplingScheduler.start(config, logger);
        const app = await buildServer({
          config,
          producer,
          heapStore: scheduler.store,
          logger,
          healthChecks: [{ name: 'redis', check: async () => 'reachable' }],
        });
        const url = await app.listen({ port: 0, host: '127.0.0.1' });
        try {
          say(`ragscope demo: Redis ${redis.stop ? '(private) ' : ''}${describeRedisTarget(config.redis)}, database ${running.pipeline.database ?? 'none'}, trace intake ${intake.url}`);
          say();
          for (const [index, input] of DEMO_QUERIES.entries()) {
            const enqueued = await producer.enqueueQuery(input);
            const result = await producer.waitForQueryResult(enqueued.jobId, 60_000);
            say(`── query ${index + 1}/${DEMO_QUERIES.length}${input.plantBottleneck ? ' (planted O(n²) rerank, profiled)' : ''}: ${input.query}`);
            say(formatQueryResult(result));
            await flushTraces();
            const spans = await waitForSpans(() => intake.store.trace(enqueued.traceId ?? ''));
            say(spans.length > 0 ? renderWaterfall(spans) : '(no trace: tracing is off, DD_TRACE_ENABLED=false)');
            say();
          }
          for (const retainLeak of [false, true]) {
            const enqueued = await producer.enqueueLeakCheck({ iterations: 20, retainLeak });
            const result = await producer.waitForLeakCheckResult(enqueued.jobId, 120_000);
            say(`── leak-check, 20 iterations${retainLeak ? ', with the planted leak' : ''}`);
            say(formatLeakCheckResult(result));
          }
          const verdict = await waitForVerdict(scheduler.store, running.workerId);
          say('── heap scheduler: this process, sampled every 0.5 s (hourly in production); it just ran the planted leak');
          say(verdict ? `${running.workerId}: ${verdict.alert.raised ? 'LEAK SUSPECTED' : 'ok'} — ${verdict.verdict.reason}` : 'no verdict yet');
          say();
          say(`Bull Board  ${url}/admin/queues`);
          say(`metrics     ${url}/metrics   (queue depth: ragscope_queue_jobs)`);
          say(`API docs    ${url}/docs`);
          if (options.keepRunning) {
            say('\nstill running: Ctrl-C to stop');
            await shutdownSignal();
          } else {
            say('\nNext: `ragscope intake`, `ragscope worker`, `ragscope scheduler`, `ragscope serve`, then `ragscope enqueue query "..." -u you --wait`.');
          }
        } finally {
          await closeInOrder(
            [
              { name: 'http server', close: () => app.close() },
              { name: 'scheduler', close: () => scheduler.close() },
              { name: 'worker', close: () => running.close() },
              {
                name: 'demo queues',
                close: async () => {
                  for (const name of [QUEUES.ragQuery, QUEUES.leakCheck, QUEUES.heapSample]) {
                    await (await producer.queue(name)).obliterate({ force: true }).catch(() => undefined);
                  }
                },
              },
              { name: 'producer', close: () => producer.close() },
              { name: 'intake', close: () => intake.close() },
              { name: 'private redis', close: () => redis.stop?.() },
            ],
            { logger },
          );
        }
      }),
    );
}

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

type VerdictStore = { verdict(workerId: string): Promise<{ alert: { raised: boolean }; verdict: { reason: string; decision: string } } | undefined> };

/** The scheduler's settled verdict: an alert raised (2 leak windows in a row) or a clean window; at most 10 s. */
async function waitForVerdict(store: VerdictStore, workerId: string) {
  const deadline = Date.now() + 10_000;
  const settled = (verdict: Awaited<ReturnType<VerdictStore['verdict']>>) => verdict && (verdict.alert.raised || verdict.verdict.decision === 'no-leak');
  let verdict = await store.verdict(workerId);
  while (!settled(verdict) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    verdict = await store.verdict(workerId);
  }
  return verdict;
}
