import type { RagscopeConfig } from '../../config/config';
import { openSqlClient, type SqlClient } from '../../db/sql-client';
import { openSampleStore } from '../sample-pipeline';
import { DocumentStore } from './document-store';

/**
 * The sample's document store outside a worker (`ragscope db`, `ragscope explain`, tests):
 * PostgreSQL from DATABASE_URL or embedded PGlite, with the schema created and the sample corpus loaded.
 */
export async function openDocumentStore(
  config: Pick<RagscopeConfig, 'databaseUrl' | 'databaseSchema'>,
): Promise<DocumentStore<SqlClient>> {
  const sql = await openSqlClient(config);
  try {
    await openSampleStore(sql, config.databaseSchema);
    return new DocumentStore(sql, config.databaseSchema);
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw error;
  }
}
