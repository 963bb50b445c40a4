import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { isUserError } from '../../contracts/errors';
import { doctorChecklist, doctorExitCode, type DoctorCheck, type DoctorFacts } from '../../doctor/checklist';
import { gatherDoctorFacts } from '../../doctor/probes';
import { printJson, runCommand } from '../run-command';

const MARKS: Record<DoctorCheck['level'], string> = { ok: '✅', warn: '⚠️ ', fail: '❌' };

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('production checklist: config, sampling, overhead cap, agent, a test span, Redis, PostgreSQL, budgets')
    .option('--json', 'print the checks as JSON')
    .action(
      runCommand(async (options: { json?: boolean }) => {
        let facts: DoctorFacts;
        try {
          facts = await gatherDoctorFacts(loadConfig());
        } catch (error) {
          if (!isUserError(error)) throw error;
          facts = { configError: error.message };
        }
        const checks = doctorChecklist(facts);
        if (options.json) printJson({ checks, ok: doctorExitCode(checks) === 0 });
        else {
          for (const check of checks) {
            process.stdout.write(`${MARKS[check.level]} ${check.name}: ${check.detail}${check.fix ? `\n   fix: ${check.fix}` : ''}\n`);
          }
        }
        process.exitCode = doctorExitCode(checks);
      }),
    );
}
