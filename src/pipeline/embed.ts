/**
 * Deterministic text embeddings by feature hashing (the "hashing trick"): unigrams and bigrams are
 * hashed into a fixed number of signed buckets. No model download, identical vectors on every
 * machine, and close enough to a learned embedding for the pipeline to have real ranking work.
 */

export const EMBEDDING_DIMENSIONS = 384;

// Function words carry no topical signal; keeping them would make every text look alike.
const STOPWORDS = new Set(
  (
    'a an and are as at be but by can do does for from has have how i if in into is it its of on or ' +
    'our should so than that the their them then there these they this to was we were what when where ' +
    'which who why will with you your'
  ).split(' '),
);

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((token) => token.length > 1 && !STOPWORDS.has(token));
}

/** 32-bit FNV-1a: fast, well spread, and stable across platforms (unlike String hash codes). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function embed(text: string, dimensions = EMBEDDING_DIMENSIONS): Float64Array {
  const vector = new Float64Array(dimensions);
  const tokens = tokenize(text);
  const addFeature = (feature: string, weight: number): void => {
    const hash = fnv1a(feature);
    // The top bit picks the sign, so colliding features cancel out on average instead of piling up.
    vector[hash % dimensions]! += hash & 0x80000000 ? -weight : weight;
  };
  for (let index = 0; index < tokens.length; index++) {
    addFeature(tokens[index]!, 1);
    if (index + 1 < tokens.length) addFeature(`${tokens[index]} ${tokens[index + 1]}`, 0.5);
  }
  return normalise(vector);
}

function normalise(vector: Float64Array): Float64Array {
  let squares = 0;
  for (const value of vector) squares += value * value;
  if (squares === 0) return vector;
  const norm = Math.sqrt(squares);
  for (let index = 0; index < vector.length; index++) vector[index]! /= norm;
  return vector;
}

/** Cosine similarity; both vectors from embed() are unit length, so this is their dot product. */
export function cosine(left: Float64Array, right: Float64Array): number {
  let dot = 0;
  for (let index = 0; index < left.length; index++) dot += left[index]! * right[index]!;
  return dot;
}
