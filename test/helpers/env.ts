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

/** A loopback port nothing listens on right now: reserve one, then release it. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
