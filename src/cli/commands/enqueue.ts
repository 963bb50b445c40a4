import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { RagscopeProducer } from '../../queue/producer';
import type { RagQueryResult } from '../../queue/contracts';
import { initTracing } from '../../telemetry/tracing';
import { integerOption, printJson, runCommand, secondsOption } from '../run-command';

interface QueryOptions {
  userId: string;
  topK?: number;
  plantBottleneck?: boolean;
  wait?: boolean;
  timeout: number;
  json?: boolean;
}

export function registerEnqueueCommand(program: Command): void {
  const enqueue = program.command('enqueue').description('put a job on a queue (for scripts and one-off checks)');

  enqueue
    .command('query')
    .description('enqueue a rag-query job; with --wait, print its answer, sources and stage timings')
    .argument('<text>', 'the question (1-2,000 characters)')
    .requiredOption('-u, --user-id <id>', 'who asks (1-128 characters; tagged on spans, hashed with RAGSCOPE_REDACT=1)')
    .option('-k, --top-k <n>', 'sources to return, 1-50', integerOption(1, 50))
    .option('--plant-bottleneck', 'rerank with the planted O(n²) function (a profiler target)')
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

export function formatQueryResult(result: RagQueryResult): string {
  const lines = [`answer: ${result.answer}`, 'sources:'];
  for (const source of result.sources) lines.push(`  ${source.id}  ${source.score.toFixed(3)}  ${source.title}`);
  lines.push(`stages: ${result.stages.map((stage) => `${stage.name} ${stage.durationMs.toFixed(1)} ms`).join(' | ')}`);
  if (result.traceId) lines.push(`trace: ${result.traceId}  (ragscope trace ${result.traceId})`);
  return `${lines.join('\n')}\n`;
}
