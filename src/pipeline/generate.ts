import { tokenize } from './embed';
import type { RankedSource } from './rerank';

export const NO_SOURCES_ANSWER = 'No document in the store matches this query.';

/** Sentences per answer: enough to answer, short enough to read in a terminal. */
const MAX_SENTENCES = 3;

interface ScoredSentence {
  text: string;
  sourceId: string;
  sourceRank: number;
  overlap: number;
}

function splitSentences(body: string): string[] {
  return body
    .split(/(?<=[.!?])\s+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

/**
 * Extractive generation: the sentences of the top sources that share the most query terms, each
 * cited with its document id. Ties go to the better-ranked source, then to the earlier sentence.
 */
export function generateAnswer(queryText: string, sources: RankedSource[]): string {
  if (sources.length === 0) return NO_SOURCES_ANSWER;
  const queryTerms = new Set(tokenize(queryText));
  const sentences: ScoredSentence[] = [];
  sources.forEach((source, sourceRank) => {
    for (const text of splitSentences(source.body)) {
      const overlap = new Set(tokenize(text).filter((term) => queryTerms.has(term))).size;
      sentences.push({ text, sourceId: source.id, sourceRank, overlap });
    }
  });
  const chosen = sentences
    .map((sentence, order) => ({ ...sentence, order }))
    .sort((left, right) => right.overlap - left.overlap || left.sourceRank - right.sourceRank || left.order - right.order)
    .slice(0, MAX_SENTENCES)
    // Read in source order, so the answer flows from the best source.
    .sort((left, right) => left.sourceRank - right.sourceRank || left.order - right.order);
  return chosen.map((sentence) => `${sentence.text} [${sentence.sourceId}]`).join(' ');
}
