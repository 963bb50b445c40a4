import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../log';
import { HeapSamplingScheduler } from '../../memory/heap-sampling-scheduler';
import { assertRedisReachable } from '../../queue/connection';
import { serveMetrics } from '../../telemetry/metrics';
import { runUntilSignal } from '../lifecycle';
import { runCommand } from '../run-command';

export function registerSchedulerCommand(program: Command): void {
  program
    .command('scheduler')
    .description('sample every worker\u2019s heap on a BullMQ job scheduler (hourly by default) and flag sustained growth')
    .addHelpText(
      'after',
      '\nRAGSCOPE_HEAP_SAMPLE_INTERVAL_MS sets the period (3600000); RAGSCOPE_LEAK_THRESHOLD_MB_PER_HOUR the leak slope (10);\n' +
        'RAGSCOPE_ALERT_URL receives verdict changes as JSON. Running two schedulers is safe: each tick is taken by one.',
    )
    .action(
      runCommand(async () => {
        const config = loadConfig();
        const logger = createLogger(config.logLevel, 'ragscope-scheduler');
        await assertRedisReachable(config.redis);
        const scheduler = await HeapSamplingScheduler.start(config, logger);
        const metricsServer = config.metricsPort ? await serveMetrics(config.metricsPort, config.metricsHost) : undefined;
        await runUntilSignal(
          [
            { name: 'metrics server', close: () => metricsServer?.close() },
            { name: 'scheduler', close: () => scheduler.close() },
          ],
          { logger, stopping: 'scheduler stopping', stopped: 'scheduler stopped' },
        );
      }),
    );
}
