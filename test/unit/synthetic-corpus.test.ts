import { describe, expect, it } from 'vitest';
import { syntheticBatches, syntheticDocument, syntheticId } from '../../src/pipeline/corpus/synthetic';

describe('synthetic documents', () => {
  it('are a pure function of their number', () => {
    expect(syntheticDocument(42)).toEqual(syntheticDocument(42));
    expect(syntheticDocument(42)).not.toEqual(syntheticDocument(43));
    expect(syntheticDocument(42, 1)).not.toEqual(syntheticDocument(42, 2));
  });

  it('have ids syn-000001 … and come in batches without gaps or repeats', () => {
    expect(syntheticId(1)).toBe('syn-000001');
    const batches = [...syntheticBatches(2_500, 1_000)];
    expect(batches.map((batch) => batch.length)).toEqual([1_000, 1_000, 500]);
    const ids = batches.flat().map((document) => document.id);
    expect(new Set(ids).size).toBe(2_500);
    expect(ids[0]).toBe('syn-000001');
    expect(ids.at(-1)).toBe('syn-002500');
  });

  it('spread over the three topics with varied titles and bodies', () => {
    const documents = [...syntheticBatches(3_000, 3_000)].flat();
    const topics = new Map<string, number>();
    for (const document of documents) topics.set(document.topic, (topics.get(document.topic) ?? 0) + 1);
    expect([...topics.keys()].sort()).toEqual(['compliance', 'ml', 'ops']);
    for (const count of topics.values()) expect(count).toBeGreaterThan(800);
    expect(new Set(documents.map((document) => document.title)).size).toBeGreaterThan(500);
    expect(new Set(documents.map((document) => document.body)).size).toBe(3_000);
    for (const document of documents.slice(0, 50)) expect(document.body.split('. ').length).toBeGreaterThanOrEqual(3);
  });
});
