import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface IsolatedStatementJob {
  /** An uncompressed dumpDataDir() of the database. */
  dataDir: ArrayBuffer;
  /** Run in order inside the transaction before the statement (SET TRANSACTION, set_config …). */
  setup: { sql: string; params: unknown[] }[];
  statement: string;
  params: unknown[];
}

export type IsolatedStatementMessage =
  | { type: 'ready' }
  | { type: 'rows'; rows: Record<string, unknown>[] }
  | { type: 'error'; error: { message: string; code: string; position?: string | number; hint?: string; detail?: string } };

/** What a statement stopped for running past its timeout throws: the shape of PostgreSQL's own cancel. */
export class IsolatedStatementTimeout extends Error {
  readonly code = '57014';
}

/** Loading a copy takes 1-5 s on a loaded machine; past this the thread is stuck and is stopped. */
const LOAD_LIMIT_MS = 120_000;

/**
 * Runs `job` in a worker thread that owns a copy of the database, and terminates the thread if the
 * statement has not finished `timeoutMs` after the copy was loaded. The calling thread and its own
 * PGlite are untouched either way. Rejects with the PostgreSQL error fields of a failed statement.
 */
export function runIsolatedStatement(job: IsolatedStatementJob, timeoutMs: number): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(threadScript(), { workerData: job, transferList: [job.dataDir] });
    let settled = false;
    let timer = setTimeout(() => stop(new Error('the PGlite copy for explain did not load in time')), LOAD_LIMIT_MS);
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
      void worker.terminate();
    };
    const stop = (error: Error) => finish(() => reject(error));
    worker.on('message', (message: IsolatedStatementMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        timer = setTimeout(() => stop(new IsolatedStatementTimeout('canceling statement due to statement timeout')), timeoutMs);
      } else if (message.type === 'rows') {
        finish(() => resolve(message.rows));
      } else {
        finish(() => reject(Object.assign(new Error(message.error.message), message.error)));
      }
    });
    worker.on('error', (error) => stop(error));
    worker.on('exit', (code) => stop(new Error(`the PGlite explain thread exited (code ${code}) before answering`)));
  });
}

/** The compiled thread script; tests running the TypeScript sources use the built one in dist/. */
function threadScript(): string {
  const beside = path.join(__dirname, 'pglite-statement-thread.js');
  if (existsSync(beside)) return beside;
  return path.resolve(__dirname, '../../dist/src/db/pglite-statement-thread.js');
}
