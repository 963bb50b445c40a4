import type { Command } from 'commander';
import { DEFAULT_AGENT_PORT } from '../../config/config';
import { ServiceUnavailableError } from '../../contracts/errors';
import { startLocalIntake } from '../../telemetry/intake/intake-server';
import { createLogger } from '../../log';
import { runUntilSignal } from '../lifecycle';
import { integerOption, runCommand } from '../run-command';

export function registerIntakeCommand(program: Command): void {
  program
    .command('intake')
    .description("serve the Datadog agent's trace endpoint locally and keep the spans (for use without an agent)")
    .option('-p, --port <port>', 'port; 8126 is where dd-trace sends spans by default', integerOption(1, 65535), DEFAULT_AGENT_PORT)
    .option('--host <host>', 'address to bind; keep it on loopback', '127.0.0.1')
    .option('--max-traces <n>', 'traces kept in memory (oldest dropped first)', integerOption(1, 1_000_000), 2000)
    .action(
      runCommand(async (options: { port: number; host: string; maxTraces: number }) => {
        const intake = await startLocalIntake({ ...options }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EADDRINUSE') {
            throw new ServiceUnavailableError(
              `port ${options.port} on ${options.host} is taken (a Datadog agent or another intake?)`,
              'use --port and point DD_TRACE_AGENT_URL at it',
            );
          }
          throw error;
        });
        process.stderr.write(`ragscope intake listening on ${intake.url} (view a trace: ragscope trace <traceId>)\n`);
        await runUntilSignal([{ name: 'intake', close: () => intake.close() }], {
          logger: createLogger('info', 'ragscope-intake'),
          stopped: 'intake stopped',
        });
      }),
    );
}
