import { mulberry32 } from '../../random';
import type { CorpusDocument } from '../store/document-store';

/**
 * Synthetic documents for production-like volume (`ragscope db seed`): compliance, operations and
 * ML prose assembled from word lists. Document n is a pure function of n, so seeding 100,000 and
 * later 200,000 documents yields the same first 100,000, and a re-seed inserts nothing new.
 */

const TOPICS = {
  compliance: {
    subjects: ['GDPR', 'SOC 2', 'HIPAA', 'PCI DSS', 'ISO 27001', 'data retention', 'access review', 'vendor risk', 'audit logging', 'consent records', 'breach notification', 'data residency'],
    nouns: ['policy', 'control', 'evidence', 'request', 'register', 'assessment', 'exception', 'retention schedule', 'audit trail', 'processor agreement', 'privacy notice', 'risk register'],
    verbs: ['documents', 'requires', 'restricts', 'records', 'reviews', 'escalates', 'approves', 'retains', 'redacts', 'verifies'],
    actors: ['the privacy team', 'the auditor', 'the data protection officer', 'each system owner', 'the security lead', 'legal counsel', 'the compliance analyst'],
    qualifiers: ['within thirty days', 'every quarter', 'before go-live', 'on request', 'after each incident', 'for seven years', 'with dual approval'],
  },
  ops: {
    subjects: ['Redis', 'PostgreSQL', 'BullMQ', 'Kubernetes', 'the load balancer', 'autovacuum', 'connection pooling', 'TLS certificates', 'log shipping', 'backups', 'on-call rotation', 'rate limiting'],
    nouns: ['runbook', 'alert', 'failover', 'queue', 'replica', 'deployment', 'incident', 'capacity plan', 'health check', 'dashboard', 'retry policy', 'maintenance window'],
    verbs: ['restarts', 'drains', 'monitors', 'throttles', 'rotates', 'replicates', 'pages', 'scales', 'rebalances', 'snapshots'],
    actors: ['the on-call engineer', 'the scheduler', 'each worker', 'the platform team', 'the autoscaler', 'the release pipeline', 'the database administrator'],
    qualifiers: ['under peak load', 'during the nightly window', 'after a node failure', 'every five minutes', 'before each release', 'when latency exceeds the budget', 'without downtime'],
  },
  ml: {
    subjects: ['embeddings', 'retrieval', 'reranking', 'fine-tuning', 'evaluation', 'tokenization', 'vector search', 'prompt design', 'hallucination', 'distillation', 'feature drift', 'model serving'],
    nouns: ['benchmark', 'index', 'checkpoint', 'dataset', 'metric', 'pipeline', 'experiment', 'baseline', 'ablation', 'context window', 'training run', 'golden set'],
    verbs: ['scores', 'embeds', 'ranks', 'filters', 'samples', 'calibrates', 'retrains', 'compares', 'labels', 'caches'],
    actors: ['the evaluation harness', 'the retriever', 'the research team', 'each annotator', 'the serving layer', 'the reranker', 'the feature store'],
    qualifiers: ['on a held-out split', 'with nDCG at ten', 'at query time', 'after every data refresh', 'against the previous checkpoint', 'under a latency budget', 'per tenant'],
  },
} as const;

type TopicName = keyof typeof TOPICS;
const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];

const TITLE_PATTERNS = [
  (s: string, n: string) => `${capitalise(s)} ${n} checklist`,
  (s: string, n: string) => `How we handle the ${s} ${n}`,
  (s: string, n: string) => `${capitalise(n)} notes for ${s}`,
  (s: string, n: string) => `Reviewing the ${s} ${n}`,
  (s: string, n: string) => `When the ${s} ${n} fails`,
];

export const SYNTHETIC_SEED = 20_240_601;

export function syntheticId(index: number): string {
  return `syn-${String(index).padStart(6, '0')}`;
}

/** Synthetic document number `index` (1-based). */
export function syntheticDocument(index: number, seed = SYNTHETIC_SEED): CorpusDocument {
  const random = mulberry32(hashIndex(index, seed));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const topic = pick(TOPIC_NAMES);
  const words = TOPICS[topic];
  const subject = pick(words.subjects);
  const sentenceCount = 3 + Math.floor(random() * 3);
  const sentences: string[] = [];
  for (let sentence = 0; sentence < sentenceCount; sentence++) {
    const other = pick(words.subjects);
    sentences.push(
      sentence === 0
        ? `${capitalise(pick(words.actors))} ${pick(words.verbs)} the ${subject} ${pick(words.nouns)} ${pick(words.qualifiers)}.`
        : `The ${pick(words.nouns)} for ${other} ${pick(words.verbs)} the ${pick(words.nouns)} ${pick(words.qualifiers)}, and ${pick(words.actors)} ${pick(words.verbs)} it.`,
    );
  }
  return { id: syntheticId(index), topic, title: pick(TITLE_PATTERNS)(subject, pick(words.nouns)), body: sentences.join(' ') };
}

/** Documents `first` … `first + count - 1`, generated lazily so a million never sit in memory at once. */
export function* syntheticBatches(count: number, batchSize: number, first = 1): Generator<CorpusDocument[]> {
  for (let start = first; start < first + count; start += batchSize) {
    const end = Math.min(first + count, start + batchSize);
    const batch: CorpusDocument[] = [];
    for (let index = start; index < end; index++) batch.push(syntheticDocument(index));
    yield batch;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Spreads consecutive indexes over the whole 32-bit seed space (a multiplicative hash). */
function hashIndex(index: number, seed: number): number {
  let hash = (seed ^ Math.imul(index, 0x9e3779b1)) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b) >>> 0;
  return (hash ^ (hash >>> 13)) >>> 0;
}

