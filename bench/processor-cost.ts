/**
 * What ragscope's rag-query processor costs per job by itself: the processor `ragscope worker
 * --pipeline` builds (contract check, sampling decision and job-rate count, consumer span, profiling
 * decision, gate, the definePipeline runner with its result check) called directly on in-memory jobs
 * around a no-op pipeline, 8 at a time, with no BullMQ around it. Reported: CPU time (user + system)
 * and wall time per job. Run it with tracing on (the default, to a local intake at the default
 * sampling) and with `--tracing off` to split the cost of the sampled spans from the rest; it is the
 * breakdown behind bench/queue-throughput's ratio (bench/README.md).
 *
 *   npm run build && node --import tsx bench/processor-cost.ts [--jobs 30000] [--tracing off]
 */
import { Job } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { numberArgument } from './stats';
import { requireBuilt } from './compiled-build';

// The compiled build, as `ragscope worker` runs it (see compiled-build.ts).
const { loadConfig } = requireBuilt<typeof import('../src/config/config')>('config/config');
const { QUEUES } = requireBuilt<typeof import('../src/contracts/queues')>('contracts/queues');
const { definePipeline } = requireBuilt<typeof import('../src/pipeline/define-pipeline')>('pipeline/define-pipeline');
const { startLocalIntake } = requireBuilt<typeof import('../src/telemetry/intake/intake-server')>('telemetry/intake/intake-server');
const { flushTraces, initTracing } = requireBuilt<typeof import('../src/telemetry/tracing')>('telemetry/tracing');
const { createWorkerRuntime } = requireBuilt<typeof import('../src/worker/runtime')>('worker/runtime');
const { preparePipeline } = requireBuilt<typeof import('../src/worker/start-worker')>('worker/start-worker');

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOBS = numberArgument('jobs', 30_000);
const WARM_UP = 4_000;
const CONCURRENCY = 8;
const tracing = process.argv.indexOf('--tracing') < 0 || process.argv[process.argv.indexOf('--tracing') + 1] !== 'off';

async function main(): Promise<void> {
  const intake = await startLocalIntake({ port: 0 });
  const prefix = `bench-processor-${Date.now()}`;
  const config = loadConfig({
    ...process.env,
    REDIS_URL,
    DD_TRACE_AGENT_URL: intake.url,
    RAGSCOPE_QUEUE_PREFIX: prefix,
    ...(tracing ? {} : { DD_TRACE_ENABLED: 'false' }),
  });
  initTracing(config);
  const logger = pino({ level: config.logLevel }, pino.destination('/dev/null'));
  const noOp = definePipeline({ name: 'no-op', run: () => ({ answer: '', sources: [] }) });
  const runtime = await createWorkerRuntime(config, logger, { queues: [], concurrency: CONCURRENCY, openPipeline: await preparePipeline(noOp, config, logger) });
  const processor = runtime.processors[QUEUES.ragQuery];
  const job = (index: number): Job =>
    Object.assign(Object.create(Job.prototype) as Job, {
      id: String(index),
      name: 'query',
      data: { query: `noop ${index}`, userId: 'bench' },
      attemptsMade: 0,
      timestamp: Date.now(),
      opts: {},
    });
  const run = async (from: number, count: number): Promise<void> => {
    for (let index = from; index < from + count; index += CONCURRENCY) {
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, offset) => processor(job(index + offset), 'token')));
    }
  };
  try {
    await run(0, WARM_UP);
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    await run(WARM_UP, JOBS);
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - startedAt;
    process.stdout.write(
      `rag-query processor alone, tracing ${tracing ? `on (sample rate ${config.sampling.baseRate})` : 'off'}, ${JOBS} no-op jobs ${CONCURRENCY} at a time: ` +
        `${((cpu.user + cpu.system) / JOBS).toFixed(1)} µs CPU per job, ${((wallMs * 1000) / JOBS).toFixed(1)} µs wall per job\n`,
    );
  } finally {
    await runtime.close();
    await flushTraces();
    await intake.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`processor-cost failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
