import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/config';
import { RagscopeProducer } from '../../queue/producer';
import { Presets, SingleBar } from 'cli-progress';
import { LEAK_CHECK_LIMITS } from '../../contracts/leak-check';
import { PROFILE_MODES, RAG_QUERY_LIMITS, type ProfileMode } from '../../contracts/rag-query';
import { initTracing } from '../../telemetry/tracing';
import { formatLeakCheckResult, formatQueryResult } from '../format';
import { integerOption, printJson, runCommand, secondsOption } from '../run-command';

interface QueryOptions {
  userId: string;
  topK?: number;
  plantBottleneck?: boolean;
  profile?: ProfileMode;
  wait?: boolean;
  timeout: number;
  json?: boolean;
}

export function registerEnqueueCommand(program: Command): void {
  const enqueue = program.command('enqueue').description('put a job on a queue (for scripts and one-off checks)');
  registerLeakCheckCommand(enqueue);

  enqueue
    .command('query')
    .description('enqueue a rag-query job; with --wait, print its answer, sources and stage timings')
    .argument('<text>', `the question (1-${RAG_QUERY_LIMITS.queryLength} characters)`)
    .requiredOption('-u, --user-id <id>', `who asks (1-${RAG_QUERY_LIMITS.userIdLength} characters; tagged on spans, hashed with RAGSCOPE_REDACT=1)`)
    .option('-k, --top-k <n>', `sources to return, ${RAG_QUERY_LIMITS.topK.min}-${RAG_QUERY_LIMITS.topK.max} (default ${RAG_QUERY_LIMITS.topK.default})`, integerOption(RAG_QUERY_LIMITS.topK.min, RAG_QUERY_LIMITS.topK.max))
    .option('--plant-bottleneck', 'rerank with the planted O(n²) function (a profiler target)')
    .addOption(
      new Option('--profile <mode>', 'CPU-profile the job: always, never, or auto (the capture rate decides)').choices(PROFILE_MODES),
    )
    .option('-w, --wait', 'wait for the result and print it')
    .option('--timeout <seconds>', 'how long --wait waits', secondsOption(3600), 60)
    .option('--json', 'print one JSON object: { jobId, traceId, result? }')
    .addHelpText(
      'after',
      '\nExamples:\n  ragscope enqueue query "how do I rotate encryption keys?" --user-id alice --wait\n' +
        '  ragscope enqueue query "redis eviction policy for queues" -u bob --plant-bottleneck --wait --json',
    )
    .action(
      runCommand(async (text: string, options: QueryOptions) => {
        const config = loadConfig();
        initTracing(config, { flushIntervalMs: 500 });
        const producer = new RagscopeProducer(config);
        try {
          const enqueued = await producer.enqueueQuery({
            query: text,
            userId: options.userId,
            ...(options.topK !== undefined ? { topK: options.topK } : {}),
            ...(options.plantBottleneck ? { plantBottleneck: true } : {}),
            ...(options.profile ? { profile: options.profile } : {}),
          });
          const result = options.wait ? await producer.waitForQueryResult(enqueued.jobId, options.timeout * 1000) : undefined;
          if (options.json) {
            printJson({ jobId: enqueued.jobId, traceId: enqueued.traceId, ...(result ? { result } : {}) });
          } else {
            process.stdout.write(`enqueued job ${enqueued.jobId} on ${enqueued.queue}${enqueued.traceId ? ` (trace ${enqueued.traceId})` : ''}\n`);
            if (result) process.stdout.write(formatQueryResult(result));
          }
        } finally {
          await producer.close();
        }
      }),
    );
}

interface LeakCheckOptions {
  iterations: number;
  retainLeak?: boolean;
  query?: string;
  wait?: boolean;
  timeout: number;
  json?: boolean;
}

function registerLeakCheckCommand(enqueue: Command): void {
  enqueue
    .command('leak-check')
    .description('enqueue a leak-check job: run the pipeline N times and judge the post-GC heap trend')
    .requiredOption('-n, --iterations <n>', `pipeline runs, ${LEAK_CHECK_LIMITS.iterations.min}-${LEAK_CHECK_LIMITS.iterations.max}`, integerOption(LEAK_CHECK_LIMITS.iterations.min, LEAK_CHECK_LIMITS.iterations.max))
    .option('--retain-leak', 'plant a real leak (an unbounded cache) so the detector has something to find')
    .option('-q, --query <text>', 'the question each iteration asks')
    .option('-w, --wait', 'wait for the verdict and print it (with a progress bar on a terminal)')
    .option('--timeout <seconds>', 'how long --wait waits', secondsOption(3600), 600)
    .option('--json', 'print one JSON object: { jobId, traceId, result? }')
    .addHelpText('after', '\nExamples:\n  ragscope enqueue leak-check --iterations 50 --wait\n  ragscope enqueue leak-check -n 50 --retain-leak --wait --json')
    .action(
      runCommand(async (options: LeakCheckOptions) => {
        const config = loadConfig();
        initTracing(config, { flushIntervalMs: 500 });
        const producer = new RagscopeProducer(config);
        const bar =
          options.wait && !options.json && process.stderr.isTTY
            ? new SingleBar({ format: 'leak-check |{bar}| {value}/{total} iterations  heap {heapUsedMb} MB', stream: process.stderr }, Presets.shades_classic)
            : undefined;
        try {
          const enqueued = await producer.enqueueLeakCheck({
            iterations: options.iterations,
            retainLeak: Boolean(options.retainLeak),
            ...(options.query !== undefined ? { query: options.query } : {}),
          });
          bar?.start(options.iterations, 0, { heapUsedMb: '-' });
          const result = options.wait
            ? await producer.waitForLeakCheckResult(enqueued.jobId, options.timeout * 1000, (progress) =>
                bar?.update(progress.iteration, { heapUsedMb: progress.heapUsedMb.toFixed(1) }),
              )
            : undefined;
          bar?.stop();
          if (options.json) return printJson({ jobId: enqueued.jobId, traceId: enqueued.traceId, ...(result ? { result } : {}) });
          process.stdout.write(`enqueued job ${enqueued.jobId} on ${enqueued.queue}${enqueued.traceId ? ` (trace ${enqueued.traceId})` : ''}\n`);
          if (result) process.stdout.write(formatLeakCheckResult(result));
        } finally {
          bar?.stop();
          await producer.close();
        }
      }),
    );
}
