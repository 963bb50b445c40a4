import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../src/contracts/validation';
import { definePipeline, isPipelineDefinition, pipelineOutputSchema } from '../../src/pipeline/define-pipeline';
import { sourceFileResolver } from '../../src/telemetry/profiling/job-profiler';
import { PACKAGE_ROOT } from '../../src/package-info';

const run = async () => ({ answer: 'a', sources: [] });

describe('definePipeline', () => {
  it('returns a frozen, recognisable definition', () => {
    const pipeline = definePipeline({ name: 'mine', run });
    expect(isPipelineDefinition(pipeline)).toBe(true);
    expect(Object.isFrozen(pipeline)).toBe(true);
    expect(isPipelineDefinition({ name: 'mine', run })).toBe(false);
  });

  it.each([
    [{ name: '', run }, /name must be 1-64 letters/],
    [{ name: 'has space', run }, /name must be/],
    [{ name: 'ok' }, /run must be a function/],
    [{ name: 'ok', run, setup: 'no' }, /setup must be a function when given/],
    [{ name: 'ok', run, close: 1 }, /close must be a function when given/],
    [null, /expects an object/],
  ])('refuses %j', (definition, message) => {
    expect(() => definePipeline(definition as never)).toThrow(message);
  });
});

describe("the check of run's result", () => {
  it.each([
    [{ answer: 'a', sources: [{ id: 'x' }] }, undefined],
    [{ answer: 'a', sources: [{ id: 'x', title: 't', score: 0.5 }], extra: 1 }, undefined],
    [{ answer: 42, sources: [] }, 'answer: must be a string'],
    [{ sources: [] }, 'answer: is required'],
    [{ answer: 'a' }, 'sources: is required'],
    [{ answer: 'a', sources: 'x' }, 'sources: must be an array of { id, title?, score? }'],
    [{ answer: 'a', sources: [{ title: 't' }] }, 'sources.0.id: is required'],
    [{ answer: 'a', sources: [{ id: 'x', score: 'high' }] }, 'sources.0.score: must be a finite number when given'],
    [undefined, 'data: must be a JSON object'],
  ])('%j → %s', (output, problem) => {
    const parsed = pipelineOutputSchema.safeParse(output);
    expect(parsed.success ? undefined : describeIssues(parsed.error)).toBe(problem);
  });

  it('drops fields outside the contract', () => {
    expect(pipelineOutputSchema.parse({ answer: 'a', sources: [], extra: 1 })).toEqual({ answer: 'a', sources: [] });
  });
});

describe('sourceFileResolver', () => {
  const userRoot = path.join(path.sep, 'srv', 'team-rag');
  it.each([
    [path.join(userRoot, 'dist', 'pipeline.js'), 'dist/pipeline.js'],
    [path.join(userRoot, 'node_modules', 'openai', 'index.js'), 'node_modules/openai/index.js'],
    ['node:internal/timers', 'node:internal/timers'],
    [path.join(PACKAGE_ROOT, 'src', 'pipeline', 'rerank.ts'), 'src/pipeline/rerank.ts'],
  ])('reports %s as %s for a pipeline rooted elsewhere', (file, reported) => {
    expect(sourceFileResolver(undefined, userRoot)(file)).toBe(reported);
  });
});
