import { syntheticBatches } from '../corpus/synthetic';
import type { DocumentStore } from './document-store';

export interface SeedProgress {
  /** Synthetic documents sent so far (new or already present). */
  processed: number;
  /** Of those, how many were new. */
  inserted: number;
  total: number;
  elapsedMs: number;
}

export interface SeedOptions {
  /** Rows per INSERT … unnest(): one round trip each. */
  batchSize?: number;
  /**
   * INSERTs in flight at once. GIN index maintenance dominates the cost and runs in each backend,
   * so a few connections in parallel use the server's cores; keep it within the pool's size (4).
   */
  concurrency?: number;
  onProgress?: (progress: SeedProgress) => void;
}

/** Loads synthetic documents 1 … count; ids already present are left as they are. */
export async function seedSyntheticDocuments(store: DocumentStore, count: number, options: SeedOptions = {}): Promise<SeedProgress> {
  const batchSize = options.batchSize ?? 2_000;
  const concurrency = options.concurrency ?? 4;
  const startedAt = performance.now();
  const progress: SeedProgress = { processed: 0, inserted: 0, total: count, elapsedMs: 0 };
  const batches = syntheticBatches(count, batchSize);

  let failed = false;
  const lane = async (): Promise<void> => {
    for (let next = batches.next(); !next.done && !failed; next = batches.next()) {
      const batch = next.value;
      let inserted: number;
      try {
        inserted = await store.insert(batch, batch.length);
      } catch (error) {
        // Stop the other lanes too, instead of loading on behind a failure nobody sees yet.
        failed = true;
        throw error;
      }
      // Added after the await: `progress.inserted += await …` would read the total before another lane's update.
      progress.inserted += inserted;
      progress.processed += batch.length;
      progress.elapsedMs = performance.now() - startedAt;
      options.onProgress?.({ ...progress });
    }
  };
  // The lanes share one generator, so each batch is taken exactly once.
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  progress.elapsedMs = performance.now() - startedAt;
  return progress;
}
