import { cosine, embed } from './embed';

export interface Candidate {
  id: string;
  title: string;
  body: string;
  /** Full-text rank from the retrieve stage (ts_rank_cd). */
  textRank: number;
}

export interface RankedSource extends Candidate {
  /** Cosine similarity of the query and the document. */
  score: number;
}

function documentText(candidate: Candidate): string {
  return `${candidate.title}. ${candidate.body}`;
}

/** Highest score first; equal scores by id, so every database and run gives the same order. */
function byScoreThenId(left: RankedSource, right: RankedSource): number {
  return right.score - left.score || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0);
}

/** The production rerank: one embedding per candidate, one sort. O(n log n). */
export function rerankByCosine(queryVector: Float64Array, candidates: Candidate[], topK: number): RankedSource[] {
  return candidates
    .map((candidate) => ({ ...candidate, score: cosine(queryVector, embed(documentText(candidate))) }))
    .sort(byScoreThenId)
    .slice(0, topK);
}

/** Cosine above which two candidates count as the same passage (re-chunked or copied documents). */
export const NEAR_DUPLICATE_COSINE = 0.97;

/** Dimensions of the vectors the duplicate check compares: finer than retrieval, so fewer false matches. */
const DUPLICATE_CHECK_DIMENSIONS = 4096;

/**
 * The planted bottleneck: near-duplicate removal done the naive way, comparing every pair of
 * candidates (n²/2 comparisons) and, inside that loop, re-deriving both vectors' norms instead of
 * normalising once. All of the work sits in this function's own loop, so a CPU profile ranks this
 * function first by self time, with the line of the inner loop. It is a profiler target with a known
 * answer, kept on purpose: do not "fix" it; turn it off (plantBottleneck: false).
 */
export function removeNearDuplicatesQuadratic(candidates: Candidate[]): Candidate[] {
  const vectors = candidates.map((candidate) => embed(documentText(candidate), DUPLICATE_CHECK_DIMENSIONS));
  const kept: number[] = [];
  for (let index = 0; index < candidates.length; index++) {
    const vector = vectors[index]!;
    let duplicate = false;
    for (const keptIndex of kept) {
      const other = vectors[keptIndex]!;
      let dot = 0;
      let squaresLeft = 0;
      let squaresRight = 0;
      for (let dimension = 0; dimension < vector.length; dimension++) {
        dot += vector[dimension]! * other[dimension]!;
        squaresLeft += vector[dimension]! * vector[dimension]!;
        squaresRight += other[dimension]! * other[dimension]!;
      }
      if (dot / Math.sqrt(squaresLeft * squaresRight || 1) >= NEAR_DUPLICATE_COSINE) {
        duplicate = true;
        break;
      }
    }
    if (!duplicate) kept.push(index);
  }
  return kept.map((index) => candidates[index]!);
}

/** The rerank with the planted bottleneck in front: near-duplicates out (quadratically), then cosine. */
export function rerankWithQuadraticDedupe(queryVector: Float64Array, candidates: Candidate[], topK: number): RankedSource[] {
  return rerankByCosine(queryVector, removeNearDuplicatesQuadratic(candidates), topK);
}
