import { embed } from './embed';
import type { PipelineResult } from './job-pipeline';

/**
 * The planted leak, for leak checks with `retainLeak: true`: a cache of every answer's source
 * embeddings, keyed by a new key each time and never evicted, the classic unbounded memoisation.
 * Plain arrays, not Float64Arrays, so the memory is on the V8 heap (typed arrays' large backing
 * stores live outside it and would not show in used heap). Kept on purpose; do not "fix" it.
 */
const leakyEmbeddingCache = new Map<string, { result: PipelineResult; embeddings: number[][] }>();

export function retainInLeakyCache(key: string, result: PipelineResult, sourceTexts: string[]): void {
  // A plain loop, not a callback: the allocation site a heap profile names is then this function.
  const embeddings: number[][] = [];
  for (const text of sourceTexts) embeddings.push(Array.from(embed(text, 4096)));
  leakyEmbeddingCache.set(key, { result, embeddings });
}
