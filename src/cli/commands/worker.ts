import { Option, type Command } from 'commander';
import { QUEUES, type QueueName } from '../../contracts/queues';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../log';
import { initTracing } from '../../telemetry/tracing';
import { runUntilSignal } from '../lifecycle';
import { integerOption, runCommand } from '../run-command';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run BullMQ workers for the rag-query and leak-check queues until SIGTERM/SIGINT')
    .option('-c, --concurrency <n>', 'rag-query jobs processed at once (default RAGSCOPE_WORKER_CONCURRENCY or 2)', integerOption(1, 64))
    .option('-p, --pipeline <module>', 'pipeline module to run: compiled JavaScript exporting definePipeline() (default RAGSCOPE_PIPELINE, else the sample pipeline)')
    .addOption(
      new Option('-q, --queues <names...>', 'queues to consume, for dedicated pools (default: all)').choices([QUEUES.ragQuery, QUEUES.leakCheck]),
    )
    .action(
      runCommand(async (options: { concurrency?: number; queues?: QueueName[]; pipeline?: string }) => {
        const config = loadConfig();
        initTracing(config);
        const logger = createLogger(config.logLevel, 'ragscope-worker');
        // Loaded after tracing starts, so the pipeline's modules see the registered provider.
        const { startWorkers } = await import('../../../workers/index.js');
        const running = await startWorkers(config, logger, { concurrency: options.concurrency, queues: options.queues, pipeline: options.pipeline });
        await runUntilSignal([{ name: 'worker', close: () => running.close() }], {
          logger,
          stopping: 'shutting down: finishing active jobs',
          stopped: 'worker stopped',
          overdue: 'active jobs did not finish in time; BullMQ will hand them to another worker',
        });
      }),
    );
}
