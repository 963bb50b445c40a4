import type { RagscopeConfig } from '../../config/config';
import { SAMPLE_CORPUS } from '../corpus';
import { DocumentStore } from './document-store';
import { openSqlClient } from '../../db/sql-client';

/**
 * The document store a worker queries: PostgreSQL from DATABASE_URL or embedded PGlite, with the
 * schema created and the sample corpus loaded (documents already present are left as they are).
 */
export async function openDocumentStore(
  config: Pick<RagscopeConfig, 'databaseUrl' | 'databaseSchema'>,
): Promise<DocumentStore> {
  const sql = await openSqlClient(config);
  try {
    const store = new DocumentStore(sql, config.databaseSchema);
    await store.ensureSchema();
    await store.insert([...SAMPLE_CORPUS]);
    return store;
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw error;
  }
}
