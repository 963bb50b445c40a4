import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../../config/config';
import { ConfigError } from '../../contracts/errors';
import { SAMPLE_CORPUS } from '../../pipeline/corpus';
import { openDocumentStore } from '../../pipeline/store/open-store';
import { seedSyntheticDocuments, type SeedProgress } from '../../pipeline/store/seed-documents';
import { integerOption, runCommand } from '../run-command';

const DEFAULT_SYNTHETIC_DOCUMENTS = 100_000;

export function registerDbCommand(program: Command): void {
  const db = program.command('db').description('manage the document store on the PostgreSQL server in DATABASE_URL');

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
