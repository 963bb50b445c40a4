import { describe, expect, it } from 'vitest';
import { isPossibleJobId } from '../../src/queue/job-ids';

describe('isPossibleJobId', () => {
  it.each([
    ['a counter id', '42', true],
    ['a custom id', 'order-7_b', true],
    ['a scheduled job', 'repeat:ragscope-heap-sampler:1796115897112', true],
    ['a scheduled job whose scheduler id has a colon', 'repeat:a:b:1796115897112', true],
    ['128 characters', 'a'.repeat(128), true],
    ['129 characters', 'a'.repeat(129), false],
    ['empty', '', false],
    ['the id counter', 'id', false],
    ['the meta hash', 'meta', false],
    ['the events stream', 'events', false],
    ['the completed set', 'completed', false],
    ['the stalled-check key', 'stalled-check', false],
    ["a job's logs", '42:logs', false],
    ["a job's lock", '42:lock', false],
    ["a scheduler's hash", 'repeat:ragscope-heap-sampler', false],
    ["a scheduled job's logs", 'repeat:x:1796115897112:logs', false],
    ['a metrics list', 'metrics:completed:data', false],
    ['a slash', 'a/b', false],
    ['a space', 'a b', false],
  ])('%s (%j) → %s', (_label, id, expected) => {
    expect(isPossibleJobId(id)).toBe(expected);
  });
});
