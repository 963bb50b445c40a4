#!/usr/bin/env node
import { Command } from 'commander';
import { PACKAGE_VERSION } from '../package-info';
import { registerDbCommand } from './commands/db';
import { registerDemoCommand } from './commands/demo';
import { registerExplainCommand } from './commands/explain';
import { registerEnqueueCommand } from './commands/enqueue';
import { registerHotspotsCommand } from './commands/hotspots';
import { registerCostCommand } from './commands/cost';
import { registerIntakeCommand } from './commands/intake';
import { registerTraceCommand } from './commands/trace';
import { registerTrendCommand } from './commands/trend';
import { registerSchedulerCommand } from './commands/scheduler';
import { registerMemoryCommand } from './commands/memory';
import { registerServeCommand } from './commands/serve';
import { registerDoctorCommand } from './commands/doctor';
import { registerWorkerCommand } from './commands/worker';

/** `ragscope <command>`: every process of the system starts here. */
export function buildProgram(): Command {
  const program = new Command('ragscope')
    .description('code-level APM for RAG pipelines behind a BullMQ queue')
    .version(PACKAGE_VERSION)
    .showHelpAfterError('(add --help for usage)');
  registerServeCommand(program);
  registerWorkerCommand(program);
  registerEnqueueCommand(program);
  registerIntakeCommand(program);
  registerTraceCommand(program);
  registerHotspotsCommand(program);
  registerCostCommand(program);
  registerExplainCommand(program);
  registerDbCommand(program);
  registerTrendCommand(program);
  registerSchedulerCommand(program);
  registerMemoryCommand(program);
  registerDoctorCommand(program);
  registerDemoCommand(program);
  return program;
}

export function main(argv: string[]): void {
  buildProgram()
    .parseAsync(argv)
    .catch((error: Error) => {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 1;
    });
}

if (require.main === module) main(process.argv);
