import { describe, expect, it } from 'vitest';
import { cosine, embed, EMBEDDING_DIMENSIONS, tokenize } from '../../src/pipeline/embed';
import { generateAnswer, NO_SOURCES_ANSWER } from '../../src/pipeline/generate';
import { rerankByCosine, rerankWithQuadraticDedupe, removeNearDuplicatesQuadratic, type Candidate } from '../../src/pipeline/rerank';
import { SAMPLE_CORPUS } from '../../src/pipeline/corpus';

const candidates: Candidate[] = SAMPLE_CORPUS.slice(0, 60).map((doc) => ({ ...doc, textRank: 0 }));

describe('embed', () => {
  it('drops stop words and punctuation', () => {
    expect(tokenize('What is the GDPR, and how does it apply?')).toEqual(['gdpr', 'apply']);
  });

  it('is deterministic, unit length and of fixed size', () => {
    const first = embed('redis eviction policy for job queues');
    const second = embed('redis eviction policy for job queues');
    expect(first).toEqual(second);
    expect(first).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(cosine(first, first)).toBeCloseTo(1, 10);
  });

  it('places related texts closer than unrelated ones', () => {
    const query = embed('redis memory eviction policy');
    expect(cosine(query, embed('choose the redis eviction policy when memory is full'))).toBeGreaterThan(
      cosine(query, embed('GDPR requires a lawful basis for processing personal data')),
    );
  });

  it('gives the zero vector for text with no terms', () => {
    expect(cosine(embed('the of and'), embed('redis'))).toBe(0);
  });
});

describe('rerank', () => {
  it('ranks by cosine similarity, best first', () => {
    const ranked = rerankByCosine(embed('redis eviction policy'), candidates, 5);
    expect(ranked).toHaveLength(5);
    for (let index = 1; index < ranked.length; index++) expect(ranked[index - 1]!.score).toBeGreaterThanOrEqual(ranked[index]!.score);
  });

  it.each(['redis eviction policy', 'gdpr data subject request', 'embedding drift', 'zzz unmatched'])(
    'the planted quadratic rerank returns exactly the production ranking on the sample corpus for "%s"',
    (query) => {
      const vector = embed(query);
      expect(rerankWithQuadraticDedupe(vector, candidates, 7)).toEqual(rerankByCosine(vector, candidates, 7));
    },
  );

  it('the planted near-duplicate check drops re-chunked copies and keeps the first', () => {
    const original = candidates[0]!;
    const copy = { ...original, id: 'copy-of-first', title: original.title.toUpperCase() };
    const kept = removeNearDuplicatesQuadratic([original, candidates[1]!, copy, candidates[2]!]);
    expect(kept.map((candidate) => candidate.id)).toEqual([original.id, candidates[1]!.id, candidates[2]!.id]);
  });

  it('breaks score ties by id so every database gives the same order', () => {
    const tied: Candidate[] = ['doc-b', 'doc-a', 'doc-c'].map((id) => ({ id, title: 'same', body: 'same text', textRank: 0 }));
    expect(rerankByCosine(embed('same text'), tied, 3).map((source) => source.id)).toEqual(['doc-a', 'doc-b', 'doc-c']);
  });
});

describe('generateAnswer', () => {
  const sources = rerankByCosine(embed('noeviction redis queue'), candidates, 3);

  it('cites every sentence it uses with its source id', () => {
    const answer = generateAnswer('noeviction redis queue', sources);
    const citations = answer.match(/\[doc-\d{3}\]/g) ?? [];
    expect(citations.length).toBeGreaterThan(0);
    for (const citation of citations) expect(sources.map((source) => `[${source.id}]`)).toContain(citation);
  });

  it('prefers sentences that share query terms', () => {
    const answer = generateAnswer('noeviction', sources);
    expect(answer.toLowerCase()).toContain('noeviction');
  });

  it('says so when nothing matched', () => {
    expect(generateAnswer('anything', [])).toBe(NO_SOURCES_ANSWER);
  });
});

describe('sample corpus', () => {
  it('ships at least 200 distinct documents on compliance, ops and ML', () => {
    expect(SAMPLE_CORPUS.length).toBeGreaterThanOrEqual(200);
    expect(new Set(SAMPLE_CORPUS.map((doc) => doc.id)).size).toBe(SAMPLE_CORPUS.length);
    expect(new Set(SAMPLE_CORPUS.map((doc) => doc.topic))).toEqual(new Set(['compliance', 'ops', 'ml']));
  });
});
