// The baseline of bench/queue-throughput: BullMQ alone, in a process of its own, calling the same
// pipeline module's run and returning its result. Plain JavaScript run by node, so it carries no
// loader or instrumentation the ragscope side does not. Says "ready" on stdout once it consumes.
const { Worker } = require('bullmq');
const { Redis } = require('ioredis');
const pipeline = require('./no-op-pipeline.cjs');

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const worker = new Worker('rag-query', async (job) => pipeline.run(job.data, undefined), {
  connection,
  prefix: process.env.RAGSCOPE_QUEUE_PREFIX,
  concurrency: Number(process.env.CONCURRENCY ?? 8),
});
worker.on('error', (error) => process.stderr.write(`plain worker: ${error.message}\n`));
worker.waitUntilReady().then(() => process.stdout.write('ready\n'));
process.once('SIGTERM', async () => {
  await worker.close();
  await connection.quit();
  process.exit(0);
});
