import { randomUUID } from 'node:crypto';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The PostgreSQL server tests use for server-side checks (trust auth, database `test` here and in CI). */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A BullMQ prefix of a test file's own, so no two files ever see each other's jobs. */
export function uniquePrefix(name: string): string {
  return `rstest-${name}-${randomUUID().slice(0, 8)}`;
}

/** A schema of a test's own on the shared test database. */
export function uniqueSchema(name: string): string {
  return `rstest_${name}_${randomUUID().slice(0, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
