import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../../config/config';
import { ConfigError, UserError } from '../../contracts/errors';
import { isPostgresError } from '../../sql-plans/postgres-error';
import { SAMPLE_CORPUS } from '../../pipeline/corpus';
import { openDocumentStore } from '../../pipeline/store/open-store';
import { seedSyntheticDocuments, type SeedProgress } from '../../pipeline/store/seed-documents';
import { integerOption, runCommand } from '../run-command';
import { openSqlClient } from '../../db/sql-client';
import { checkExplainRole, explainRoleStatements } from '../../sql-plans/explain-role';

const DEFAULT_EXPLAIN_ROLE = 'ragscope_explain';

const DEFAULT_SYNTHETIC_DOCUMENTS = 100_000;

export function registerDbCommand(program: Command): void {
  const db = program.command('db').description('manage the document store on the PostgreSQL server in DATABASE_URL');
  registerExplainRoleCommand(db);

  db.command('seed')
    .description('create the schema and load the sample corpus plus N synthetic documents, then ANALYZE')
    .option('-n, --documents <n>', 'synthetic documents to add (0-1,000,000)', integerOption(0, 1_000_000), DEFAULT_SYNTHETIC_DOCUMENTS)
    .addHelpText(
      'after',
      '\nSynthetic documents are deterministic (ids syn-000001 …): seeding again adds only ids not there yet.\n\n' +
        'Examples:\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ragscope db seed --documents 100000\n' +
        '  ragscope explain "SELECT id FROM documents WHERE title LIKE \'%failover%\'"   # then look at the plan',
    )
    .action(
      runCommand(async (options: { documents: number }) => {
        const config = loadConfig();
        if (!config.databaseUrl) {
          throw new ConfigError(
            'db seed loads a PostgreSQL server, and DATABASE_URL is not set',
            'set it, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ragscope db seed (without it ragscope uses an in-memory PGlite that nothing could be seeded into)',
          );
        }
        const startedAt = performance.now();
        const store = await openDocumentStore(config);
        try {
          const target = `"${config.databaseSchema}".documents on ${redactUrl(config.databaseUrl)}`;
          process.stdout.write(`seeding ${target}: sample corpus (${SAMPLE_CORPUS.length}) + ${options.documents.toLocaleString('en-US')} synthetic documents\n`);
          const report = progressReporter(options.documents);
          const seeded = await seedSyntheticDocuments(store, options.documents, { onProgress: report });
          await store.sql.query(`ANALYZE "${config.databaseSchema}".documents`);
          const total = await store.count();
          const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
          process.stdout.write(
            `seeded ${seeded.inserted.toLocaleString('en-US')} new synthetic documents in ${seconds} s; ` +
              `the table holds ${total.toLocaleString('en-US')} documents (analyzed)\n`,
          );
        } finally {
          await store.sql.close();
        }
      }),
    );
}

function registerExplainRoleCommand(db: Command): void {
  db.command('explain-role')
    .description('print (or run, with --create) the SQL that creates the least-privilege role explain runs under')
    .option('--create', 'run the SQL on DATABASE_URL (needs a user allowed to create roles), then check the role')
    .addHelpText(
      'after',
      `\nThe role is RAGSCOPE_EXPLAIN_ROLE (default name ${DEFAULT_EXPLAIN_ROLE}): NOLOGIN, no superuser, USAGE on the schema\n` +
        'RAGSCOPE_DB_SCHEMA and SELECT on its tables; the connecting user becomes a member so it may SET ROLE to it.\n\n' +
        'Examples:\n' +
        '  ragscope db explain-role                     # print the SQL, to review or run with psql\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ragscope db explain-role --create\n' +
        `  RAGSCOPE_EXPLAIN_ROLE=${DEFAULT_EXPLAIN_ROLE} ragscope explain "SELECT count(*) FROM documents"`,
    )
    .action(
      runCommand(async (options: { create?: boolean }) => {
        const config = loadConfig();
        const role = config.explainRole ?? DEFAULT_EXPLAIN_ROLE;
        if (!options.create) {
          process.stdout.write(`${explainRoleStatements(role, config.databaseSchema, false).map((line) => `${line};`).join('\n')}\n`);
          return;
        }
        if (!config.databaseUrl) {
          throw new ConfigError('db explain-role --create needs a PostgreSQL server, and DATABASE_URL is not set', 'set DATABASE_URL, or drop --create to print the SQL');
        }
        const sql = await openSqlClient(config);
        try {
          await sql
            .transaction(async (tx) => {
            const { rows } = await tx.query<{ found: boolean }>('SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1) AS found', [role]);
            for (const statement of explainRoleStatements(role, config.databaseSchema, rows[0]?.found ?? false)) await tx.query(statement);
            await checkExplainRole(tx, role);
            })
            .catch((error: unknown) => {
              if (!isPostgresError(error)) throw error;
              throw new UserError(`cannot create role ${role}: ${error.message}`, 'connect as a superuser or a user with CREATEROLE, or print the SQL (drop --create) and have an administrator run it');
            });
          process.stdout.write(`role ${role} is ready: set RAGSCOPE_EXPLAIN_ROLE=${role} for explain and profiled jobs\n`);
        } finally {
          await sql.close();
        }
      }),
    );
}

/** A progress line at every 10% on stderr, so stdout stays the summary a script can read. */
function progressReporter(total: number): (progress: SeedProgress) => void {
  let reportedTenths = 0;
  return (progress) => {
    const tenths = Math.floor((progress.processed / Math.max(total, 1)) * 10);
    if (tenths <= reportedTenths) return;
    reportedTenths = tenths;
    const rate = progress.processed / Math.max(progress.elapsedMs / 1000, 0.001);
    process.stderr.write(
      `  ${progress.processed.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} ` +
        `(${(progress.elapsedMs / 1000).toFixed(1)} s, ${Math.round(rate).toLocaleString('en-US')} docs/s)\n`,
    );
  };
}
