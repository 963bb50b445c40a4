import { Option, type Command } from 'commander';
import { QUEUES, type QueueName } from '../../contracts/queues';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../log';
import { flushTraces, initTracing } from '../../telemetry/tracing';
import { integerOption, runCommand } from '../run-command';

/** Seconds active jobs get to finish after SIGTERM/SIGINT before the process gives up on them. */
const SHUTDOWN_GRACE_MS = 30_000;

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run BullMQ workers for the rag-query and leak-check queues until SIGTERM/SIGINT')
    .option('-c, --concurrency <n>', 'rag-query jobs processed at once (default RAGSCOPE_WORKER_CONCURRENCY or 2)', integerOption(1, 64))
    .addOption(
      new Option('-q, --queues <names...>', 'queues to consume, for dedicated pools (default: all)').choices([QUEUES.ragQuery, QUEUES.leakCheck]),
    )
    .action(
      runCommand(async (options: { concurrency?: number; queues?: QueueName[] }) => {
        const config = loadConfig();
        initTracing(config);
        const logger = createLogger(config.logLevel, 'ragscope-worker');
        // Loaded after tracing starts, so the pipeline's modules see the registered provider.
        const { startWorkers } = await import('../../../workers');
        const running = await startWorkers(config, logger, { concurrency: options.concurrency, queues: options.queues });
        await new Promise<void>((resolve) => {
          const shutdown = (signal: NodeJS.Signals): void => {
            logger.info({ signal }, 'shutting down: finishing active jobs');
            const forced = setTimeout(() => {
              logger.error({ graceMs: SHUTDOWN_GRACE_MS }, 'active jobs did not finish in time; BullMQ will hand them to another worker');
              process.exit(1);
            }, SHUTDOWN_GRACE_MS);
            forced.unref();
            running.close().then(resolve, (error: Error) => {
              logger.error({ err: error.message }, 'error while shutting down');
              resolve();
            });
          };
          process.once('SIGTERM', shutdown);
          process.once('SIGINT', shutdown);
        });
        logger.info('worker stopped');
        // Spans still buffered get a bounded flush; a hung agent must not hold the exit past the grace period.
        await flushTraces();
        process.exit(process.exitCode ?? 0);
      }),
    );
}
