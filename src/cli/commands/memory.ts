import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { HeapSeriesStore } from '../../memory/heap-series-store';
import { assertRedisReachable, createRedisConnection } from '../../queue/connection';
import { printJson, runCommand } from '../run-command';

export function registerMemoryCommand(program: Command): void {
  const memory = program.command('memory').description('long-horizon heap monitoring');
  memory
    .command('status')
    .description('every worker\u2019s latest heap samples and leak verdict, as the scheduler recorded them')
    .option('--json', 'print the workers as JSON')
    .action(
      runCommand(async (options: { json?: boolean }) => {
        const config = loadConfig();
        await assertRedisReachable(config.redis);
        const redis = createRedisConnection(config.redis, 'producer');
        try {
          const store = HeapSeriesStore.fromConfig(redis, config);
          const live = new Set(await store.liveWorkers());
          const workers = await Promise.all(
            (await store.knownWorkers()).map(async (workerId) => {
              const series = await store.series(workerId);
              const verdict = await store.verdict(workerId);
              return { workerId, live: live.has(workerId), samples: series.length, latest: series.slice(-3), verdict };
            }),
          );
          if (options.json) return printJson({ workers });
          if (workers.length === 0) return void process.stdout.write('no worker has reported a heap sample yet (is `ragscope scheduler` running?)\n');
          for (const worker of workers) {
            const latest = worker.latest.at(-1);
            const alert = worker.verdict?.alert.raised ? 'LEAK SUSPECTED' : 'ok';
            process.stdout.write(
              `${worker.workerId}${worker.live ? '' : ' (not seen recently)'}: ${alert}; ${worker.samples} samples, ` +
                `latest ${latest ? `${latest.heapUsedMb.toFixed(1)} MB heap, ${latest.rssMb.toFixed(1)} MB RSS` : '-'}\n` +
                `  ${worker.verdict?.verdict.reason ?? 'no verdict yet'}\n`,
            );
          }
        } finally {
          await redis.quit();
        }
      }),
    );
}
