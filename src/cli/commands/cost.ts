import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { assertRedisReachable, createRedisConnection } from '../../queue/connection';
import { JobRateMeter } from '../../queue/job-rate';
import { estimateMonthlyCost, SPANS_PER_JOB } from '../../telemetry/sampling/sampling-policy';
import { integerOption, printJson, runCommand } from '../run-command';

export function registerCostCommand(program: Command): void {
  program
    .command('cost')
    .description('estimate monthly span volume and cost from the observed job rate and the sampling policy')
    .option('--jobs-per-hour <n>', 'estimate for this rate instead of the one observed in Redis', integerOption(0, 1_000_000_000))
    .option('--json', 'print the estimate as JSON')
    .action(
      runCommand(async (options: { jobsPerHour?: number; json?: boolean }) => {
        const config = loadConfig();
        let jobsPerHour = options.jobsPerHour;
        if (jobsPerHour === undefined) {
          await assertRedisReachable(config.redis);
          const redis = createRedisConnection(config.redis, 'producer');
          try {
            jobsPerHour = await new JobRateMeter(redis, config.queuePrefix).jobsPerHour();
          } finally {
            await redis.quit();
          }
        }
        const estimate = estimateMonthlyCost(jobsPerHour, config.sampling);
        if (options.json) return printJson({ ...estimate, spansPerJob: SPANS_PER_JOB, observed: options.jobsPerHour === undefined });
        const lines = [
          `jobs/hour:        ${estimate.jobsPerHour}${options.jobsPerHour === undefined ? ' (observed over the last hour)' : ''}`,
          `trace sample rate: ${estimate.sampleRate}${estimate.sampleRate === config.sampling.highVolumeRate && estimate.jobsPerHour > config.sampling.highVolumeJobsPerHour ? ` (above ${config.sampling.highVolumeJobsPerHour} jobs/hour)` : ''}`,
          `spans/month:      ${estimate.spansPerMonth.toLocaleString('en-US')} (${SPANS_PER_JOB} spans a sampled job)`,
          `cost/month:       $${estimate.costPerMonthUsd.toFixed(2)} at $${estimate.pricePerMillionSpansUsd} per 1M spans`,
          ...estimate.budgetAlerts.map((alert) => `budget $${alert.thresholdUsd}: ${alert.reached ? 'REACHED' : 'ok'}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
