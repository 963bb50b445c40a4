import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type RagscopeConfig } from '../../config/config';
import { openDocumentStore } from '../../pipeline/store/open-store';
import { openSqlClient, type SqlClient } from '../../db/sql-client';
import { renderPlan } from '../../sql-plans/plan-render';
import { explainWithFindings } from '../../sql-plans/explain-with-findings';
import { printJson, runCommand, secondsOption } from '../run-command';

interface ExplainCommandOptions {
  param?: string[];
  set?: Record<string, string>;
  json?: boolean;
  allowWrites?: boolean;
  timeout: number;
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('EXPLAIN ANALYZE one SQL statement (checked first, rolled back, read-only by default) and report what in its plan is slow')
    .argument('<sql>', 'one statement; $1, $2, … are filled from --param, in order')
    .option('-p, --param <value>', 'bind value for the next placeholder (repeatable; sent as a parameter, never spliced in)', collectParam)
    .option('--set <name=value>', 'a setting for this statement only, e.g. work_mem=64kB (repeatable)', collectSetting)
    .option('--allow-writes', 'let INSERT/UPDATE/DELETE run (still rolled back; never functions a rollback does not undo)')
    .option('--timeout <seconds>', 'stop the statement after this long (statement_timeout; on PGlite its thread is terminated); --set cannot lift it', secondsOption(3600), 30)
    .option('--json', 'print { plan, findings, executionMs, planningMs } as JSON')
    .addHelpText(
      'after',
      '\nWith DATABASE_URL the statement runs on that server, with search_path set to RAGSCOPE_DB_SCHEMA (then public);\n' +
        'without it, on embedded PGlite holding the sample corpus as the table documents.\n\n' +
        'Examples:\n' +
        `  ragscope explain "SELECT id, title FROM documents WHERE topic = 'ops' ORDER BY title"\n` +
        "  ragscope explain 'SELECT id, title FROM documents WHERE tsv @@ to_tsquery($1) LIMIT 5' --param redis\n" +
        '  ragscope explain "SELECT * FROM documents ORDER BY body" --set work_mem=64kB --json\n' +
        "  ragscope explain 'DELETE FROM documents WHERE topic = $1' --param ml --allow-writes",
    )
    .action(
      runCommand(async (statement: string, options: ExplainCommandOptions) => {
        const config = loadConfig();
        const sql = await openExplainTarget(config);
        try {
          const profile = await explainWithFindings(sql, statement, options.param ?? [], {
            allowWrites: options.allowWrites ?? false,
            statementTimeoutMs: Math.round(options.timeout * 1000),
            schema: config.databaseSchema,
            settings: options.set ?? {},
            ...(config.explainRole ? { role: config.explainRole } : {}),
          });
          for (const note of profile.notes) process.stderr.write(`note: ${note}\n`);
          if (options.json) {
            printJson({ plan: profile.plan, findings: profile.findings, executionMs: profile.executionMs, planningMs: profile.planningMs });
            return;
          }
          const writes = options.allowWrites ? ', writes allowed' : ', read-only';
          process.stdout.write(`EXPLAIN ANALYZE on ${sql.description} (rolled back${writes})\n\n`);
          process.stdout.write(`${renderPlan(profile.plan, profile.findings)}\n`);
        } finally {
          await sql.close();
        }
      }),
    );
}

/**
 * The server in DATABASE_URL as it is, or a fresh PGlite loaded with the sample corpus, so
 * `explain "… FROM documents …"` has a table to run against with no set-up.
 */
async function openExplainTarget(config: RagscopeConfig): Promise<SqlClient> {
  if (config.databaseUrl) return openSqlClient(config);
  const store = await openDocumentStore(config);
  // Without statistics the planner guesses row counts, and every estimate would look wrong.
  await store.sql.query(`ANALYZE "${config.databaseSchema}".documents`);
  return store.sql;
}

function collectParam(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function collectSetting(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const match = /^([A-Za-z_][A-Za-z0-9_.]*)=(.*)$/s.exec(value);
  if (!match) throw new InvalidArgumentError('expected name=value, e.g. work_mem=64kB');
  return { ...previous, [match[1]!]: match[2]! };
}
