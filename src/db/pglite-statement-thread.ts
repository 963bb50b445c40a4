/**
 * Runs one statement on a copy of a PGlite database inside a worker thread, so the thread that
 * started it can stop it: PGlite runs PostgreSQL in WebAssembly in-process, with no timers to
 * fire a statement_timeout and no second backend to cancel from. Terminating the thread is the
 * only way to stop a statement there, and the copy dies with it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { IsolatedStatementJob, IsolatedStatementMessage } from './pglite-isolated';

async function main(): Promise<void> {
  const job = workerData as IsolatedStatementJob;
  const post = (message: IsolatedStatementMessage) => parentPort!.postMessage(message);
  const { PGlite } = await import('@electric-sql/pglite');
  const database = await PGlite.create({ loadDataDir: new Blob([job.dataDir]) });
  post({ type: 'ready' });
  try {
    await database.query('BEGIN');
    for (const step of job.setup) await database.query(step.sql, step.params);
    const result = await database.query<Record<string, unknown>>(job.statement, job.params);
    post({ type: 'rows', rows: result.rows });
  } catch (error) {
    const fields = error as { message?: string; code?: string; position?: string | number; hint?: string; detail?: string };
    post({
      type: 'error',
      error: { message: String(fields.message ?? error), code: fields.code ?? '', position: fields.position, hint: fields.hint, detail: fields.detail },
    });
  } finally {
    await database.close().catch(() => undefined);
  }
}

void main();
