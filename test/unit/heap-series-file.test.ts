import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/contracts/errors';
import { MAX_REPORTED_BAD_LINES, parseHeapSeries } from '../../src/memory/heap-series-file';

const T0 = Date.UTC(2025, 0, 31, 14);
const HOUR_MS = 3_600_000;

function parseError(text: string): string {
  try {
    parseHeapSeries(text, 'heap.csv');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError');
}

describe('parseHeapSeries: CSV', () => {
  it.each([
    ['with a header', 'timestamp,heapUsedMb\n2025-01-31T14:00:00Z,210.5\n2025-01-31T15:00:00Z,222\n'],
    ['without a header', '2025-01-31T14:00:00Z,210.5\n2025-01-31T15:00:00Z,222'],
    ['with CRLF, a BOM, spaces, quotes and a header in other case', '\uFEFF"Timestamp", "HEAPUSEDMB"\r\n "2025-01-31T14:00:00Z" , 210.5 \r\n2025-01-31T15:00:00Z,222\r\n'],
    ['with epoch milliseconds', `${T0},210.5\n${T0 + HOUR_MS},222\n`],
    ['with comments and blank lines', '# exported from grafana\n\ntimestamp,heapUsedMb\n\n2025-01-31T14:00:00Z,210.5\n# gap\n2025-01-31T15:00:00Z,222\n\n'],
  ])('reads %s', (_, text) => {
    expect(parseHeapSeries(text)).toEqual({
      format: 'csv',
      samples: [
        { timestampMs: T0, heapUsedMb: 210.5 },
        { timestampMs: T0 + HOUR_MS, heapUsedMb: 222 },
      ],
    });
  });

  it.each([
    ['2025-01-31T14:00:00Z', T0],
    ['2025-01-31T14:00:00.250Z', T0 + 250],
    ['2025-01-31T14:00:00.123456789Z', T0 + 123],
    ['2025-01-31T14:00Z', T0],
    ['2025-01-31 14:00:00', T0],
    ['2025-01-31T14:00:00', T0],
    ['2025-01-31T16:00:00+02:00', T0],
    ['2025-01-31T09:00:00-0500', T0],
    ['2025-01-31', Date.UTC(2025, 0, 31)],
    [String(T0), T0],
  ])('reads the timestamp %s (no offset = UTC)', (timestamp, expected) => {
    expect(parseHeapSeries(`${timestamp},100`).samples[0]!.timestampMs).toBe(expected);
  });

  it('keeps file order: sorting is the verdict’s job', () => {
    const { samples } = parseHeapSeries(`${T0 + HOUR_MS},2\n${T0},1\n`);
    expect(samples.map((sample) => sample.heapUsedMb)).toEqual([2, 1]);
  });
});

describe('parseHeapSeries: JSON lines', () => {
  it('reads ISO and epoch timestamps, ignores extra fields, and accepts timestampMs', () => {
    const text = [
      JSON.stringify({ timestamp: '2025-01-31T14:00:00Z', heapUsedMb: 210.5, rssMb: 400 }),
      '',
      JSON.stringify({ timestamp: T0 + HOUR_MS, heapUsedMb: 222 }),
      JSON.stringify({ timestampMs: T0 + 2 * HOUR_MS, heapUsedMb: '230' }),
    ].join('\n');
    expect(parseHeapSeries(text)).toEqual({
      format: 'jsonl',
      samples: [
        { timestampMs: T0, heapUsedMb: 210.5 },
        { timestampMs: T0 + HOUR_MS, heapUsedMb: 222 },
        { timestampMs: T0 + 2 * HOUR_MS, heapUsedMb: 230 },
      ],
    });
  });

  it('reports each bad line with its number and what is wrong', () => {
    const text = [
      JSON.stringify({ timestamp: T0, heapUsedMb: 210 }),
      '{"timestamp": 1738332000000, "heapUsedMb": 2',
      JSON.stringify([T0, 210]),
      JSON.stringify({ heapUsedMb: 210 }),
      JSON.stringify({ timestamp: T0 }),
      JSON.stringify({ timestamp: true, heapUsedMb: 1 }),
      JSON.stringify({ timestamp: T0, heapUsedMb: 'lots' }),
      '2025-01-31T14:00:00Z,210',
    ].join('\n');
    expect(() => parseHeapSeries(text, 'samples.jsonl')).toThrow(ValidationError);
    expect(() => parseHeapSeries(text, 'samples.jsonl')).toThrow(
      [
        'samples.jsonl: 7 malformed lines (read as JSON lines)',
        '  line 2: not valid JSON',
        '  line 3: expected a JSON object {"timestamp": ..., "heapUsedMb": ...}',
        '  line 4: missing "timestamp"',
        '  line 5: missing "heapUsedMb"',
        '  line 6: "timestamp" must be an ISO 8601 string or epoch milliseconds',
        '  line 7: heapUsedMb "lots" is not a number',
        '  line 8: not valid JSON',
      ].join('\n'),
    );
  });
});

describe('parseHeapSeries: malformed CSV', () => {
  it('names every bad line, counting the header, comments and blank lines', () => {
    const message = parseError(
      [
        'timestamp,heapUsedMb',
        '2025-01-31T14:00:00Z,210',
        '',
        'yesterday,220',
        '2025-02-30T14:00:00Z,230',
        '2025-01-31T25:00:00Z,230',
        '1738332000,240',
        '2025-01-31T18:00:00Z,',
        '2025-01-31T19:00:00Z,-3',
        '2025-01-31T20:00:00Z,12 MB',
        '2025-01-31T21:00:00Z,1,2',
      ].join('\n'),
    );
    expect(message).toBe(
      [
        'heap.csv: 8 malformed lines (read as CSV)',
        '  line 4: timestamp "yesterday" is neither ISO 8601 (2025-01-31T14:00:00Z) nor epoch milliseconds',
        '  line 5: timestamp "2025-02-30T14:00:00Z" is not a real date and time',
        '  line 6: timestamp "2025-01-31T25:00:00Z" is not a real date and time',
        '  line 7: timestamp 1738332000 is before 1973 as epoch milliseconds; epoch seconds? (use milliseconds or ISO 8601)',
        '  line 8: heapUsedMb "" is not a number',
        '  line 9: heapUsedMb -3 is negative',
        '  line 10: heapUsedMb "12 MB" is not a number',
        '  line 11: expected 2 comma-separated values (timestamp,heapUsedMb), found 3',
      ].join('\n'),
    );
  });

  it('explains a first line that is neither the header nor data', () => {
    expect(parseError('time;heap\n2025-01-31T14:00:00Z,210')).toContain(
      'line 1: expected 2 comma-separated values (timestamp,heapUsedMb), found 1 (a header must read exactly "timestamp,heapUsedMb")',
    );
    expect(parseError('time,heap\n2025-01-31T14:00:00Z,210')).toContain('line 1: timestamp "time" is neither ISO 8601');
  });

  it(`lists at most ${MAX_REPORTED_BAD_LINES} bad lines and counts the rest`, () => {
    const lines = Array.from({ length: 25 }, (_, index) => `bad${index},1`);
    const message = parseError(lines.join('\n'));
    expect(message.split('\n')).toHaveLength(1 + MAX_REPORTED_BAD_LINES + 1);
    expect(message).toMatch(/^heap\.csv: 25 malformed lines/);
    expect(message).toContain('line 10: timestamp "bad9"');
    expect(message).not.toContain('line 11:');
    expect(message).toMatch(/\.\.\. and 15 more$/);
  });

  it.each([
    ['an empty file', ''],
    ['only a header', 'timestamp,heapUsedMb\n'],
    ['only comments', '# nothing yet\n\n'],
  ])('refuses %s', (_, text) => {
    expect(parseError(text)).toMatch(/^heap\.csv holds no heap samples/);
  });
});
