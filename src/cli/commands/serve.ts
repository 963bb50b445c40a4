import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { ConfigError, ServiceUnavailableError } from '../../contracts/errors';
import { createLogger } from '../../log';
import { HeapSeriesStore } from '../../memory/heap-series-store';
import { assertRedisReachable, warnUnlessNoEviction } from '../../queue/connection';
import { RagscopeProducer } from '../../queue/producer';
import { openSqlClient } from '../../db/sql-client';
import { buildServer, type HealthCheck } from '../../server/app';
import { isLoopback } from '../../server/auth';
import { BOARD_PATH } from '../../server/board';
import { initTracing } from '../../telemetry/tracing';
import { runUntilSignal } from '../lifecycle';
import { integerOption, runCommand } from '../run-command';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('HTTP API (enqueue, job status, memory), /metrics, Bull Board at /admin/queues and OpenAPI docs at /docs')
    .option('-p, --port <port>', 'port', integerOption(1, 65535), 8000)
    .option('--host <host>', 'address to bind; a non-loopback one needs RAGSCOPE_API_TOKEN and RAGSCOPE_ADMIN_PASSWORD', '127.0.0.1')
    .action(
      runCommand(async (options: { port: number; host: string }) => {
        const config = loadConfig();
        if (!isLoopback(options.host) && (!config.server.apiToken || !config.server.adminPassword)) {
          throw new ConfigError(
            `refusing to serve on ${options.host} without credentials`,
            'set RAGSCOPE_API_TOKEN (POST endpoints) and RAGSCOPE_ADMIN_PASSWORD (Bull Board), or bind 127.0.0.1',
          );
        }
        initTracing(config);
        const logger = createLogger(config.logLevel, 'ragscope-serve');
        await assertRedisReachable(config.redis);
        const producer = new RagscopeProducer(config);
        // One connection to watch: the API answers 503 from its state the moment Redis goes away.
        const redis = await producer.redis();
        await warnUnlessNoEviction(redis, logger);
        const heapStore = HeapSeriesStore.fromConfig(redis, config);
        const postgres = config.databaseUrl ? await openSqlClient(config).catch(() => undefined) : undefined;
        const healthChecks: HealthCheck[] = [
          { name: 'redis', check: async () => `PONG in ${await timed(async () => (await producer.redis()).ping())} ms` },
          {
            name: 'postgres',
            check: async () => {
              if (!config.databaseUrl) return 'embedded PGlite inside each worker';
              if (!postgres) throw new ServiceUnavailableError('cannot reach PostgreSQL at start-up', undefined, 'postgres');
              return `SELECT 1 in ${await timed(() => postgres.query('SELECT 1'))} ms`;
            },
          },
        ];
        const app = await buildServer({ config, producer, heapStore, logger, healthChecks });
        await app.listen({ port: options.port, host: options.host });
        const base = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
        process.stderr.write(`ragscope serve on ${base}  (docs ${base}/docs, board ${base}${BOARD_PATH}, metrics ${base}/metrics)\n`);
        await runUntilSignal(
          [
            { name: 'http server', close: () => app.close() },
            { name: 'producer', close: () => producer.close() },
            { name: 'postgres', close: () => postgres?.close() },
          ],
          { logger, stopped: 'server stopped' },
        );
      }),
    );
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return Math.round((performance.now() - startedAt) * 10) / 10;
}
