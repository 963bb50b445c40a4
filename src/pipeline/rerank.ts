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

/**
 * The planted bottleneck: the same ranking as rerankByCosine, built by selection with the score
 * recomputed (embedding included) for every remaining candidate at every position: n²/2 embeddings.
 * It is the classic "expensive call inside the inner loop" bug, kept on purpose so the profiler has
 * a real target with a known answer. Do not "fix" it; turn it off (plantBottleneck: false).
 */
export function rerankQuadraticSelection(
  queryVector: Float64Array,
  candidates: Candidate[],
  topK: number,
): RankedSource[] {
  const remaining = [...candidates];
  const ranked: RankedSource[] = [];
  while (remaining.length > 0) {
    let best: RankedSource | undefined;
    let bestIndex = -1;
    for (let index = 0; index < remaining.length; index++) {
      const candidate = remaining[index]!;
      const scored = { ...candidate, score: cosine(queryVector, embed(documentText(candidate))) };
      if (!best || byScoreThenId(scored, best) < 0) {
        best = scored;
        bestIndex = index;
      }
    }
    ranked.push(best!);
    remaining.splice(bestIndex, 1);
  }
  return ranked.slice(0, topK);
}
