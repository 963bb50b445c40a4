import { ValidationError } from '../contracts/errors';
import type { HeapSample } from './trend';

/**
 * Reads a heap series a user brings to `ragscope trend`: CSV (`timestamp,heapUsedMb`, header
 * optional) or JSON lines (`{"timestamp": ..., "heapUsedMb": ...}`), timestamps in ISO 8601 or epoch
 * milliseconds. Pure: text in, samples out; every malformed line is reported with its number.
 */

export type HeapSeriesFormat = 'csv' | 'jsonl';

export interface ParsedHeapSeries {
  format: HeapSeriesFormat;
  /** In file order; the verdict sorts by time itself. */
  samples: HeapSample[];
}

/** Enough bad lines to see the pattern without flooding a terminal. */
export const MAX_REPORTED_BAD_LINES = 10;

interface BadLine {
  line: number;
  problem: string;
}

/**
 * Parses the whole text. Blank lines and lines starting with `#` are skipped. Throws a
 * ValidationError naming up to MAX_REPORTED_BAD_LINES malformed lines, or saying there were no samples.
 */
export function parseHeapSeries(text: string, sourceName = 'input'): ParsedHeapSeries {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const firstDataLine = lines.find((line) => !isSkippable(line));
  const format: HeapSeriesFormat = firstDataLine?.trimStart().startsWith('{') ? 'jsonl' : 'csv';
  const samples: HeapSample[] = [];
  const badLines: BadLine[] = [];
  let seenData = false;
  lines.forEach((rawLine, index) => {
    if (isSkippable(rawLine)) return;
    const line = rawLine.trim();
    const isFirst = !seenData;
    seenData = true;
    if (format === 'csv' && isFirst && isCsvHeader(line)) return;
    const parsed = format === 'jsonl' ? parseJsonLine(line) : parseCsvLine(line, isFirst);
    if ('problem' in parsed) badLines.push({ line: index + 1, problem: parsed.problem });
    else samples.push(parsed);
  });
  if (badLines.length > 0) throw new ValidationError(describeBadLines(sourceName, format, badLines));
  if (samples.length === 0) {
    throw new ValidationError(`${sourceName} holds no heap samples (expected CSV "timestamp,heapUsedMb" or JSON lines {"timestamp": ..., "heapUsedMb": ...})`);
  }
  return { format, samples };
}

function isSkippable(line: string): boolean {
  const trimmed = line.trim();
  return trimmed === '' || trimmed.startsWith('#');
}

function isCsvHeader(line: string): boolean {
  const cells = splitCsv(line);
  return cells.length === 2 && cells[0]!.toLowerCase() === 'timestamp' && cells[1]!.toLowerCase() === 'heapusedmb';
}

/** Two cells, optionally double-quoted; the values never contain commas. */
function splitCsv(line: string): string[] {
  return line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1').trim());
}

type LineResult = HeapSample | { problem: string };

function parseCsvLine(line: string, isFirst: boolean): LineResult {
  const cells = splitCsv(line);
  if (cells.length !== 2) {
    const header = isFirst ? ' (a header must read exactly "timestamp,heapUsedMb")' : '';
    return { problem: `expected 2 comma-separated values (timestamp,heapUsedMb), found ${cells.length}${header}` };
  }
  const timestampMs = parseTimestamp(cells[0]!);
  if (typeof timestampMs === 'string') return { problem: timestampMs };
  const heapUsedMb = parseHeapMb(cells[1]!);
  if (typeof heapUsedMb === 'string') return { problem: heapUsedMb };
  return { timestampMs, heapUsedMb };
}

function parseJsonLine(line: string): LineResult {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return { problem: 'not valid JSON' };
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { problem: 'expected a JSON object {"timestamp": ..., "heapUsedMb": ...}' };
  const fields = record as Record<string, unknown>;
  // `timestampMs` is how ragscope itself names the field (HeapSample), so its own dumps read back.
  const rawTimestamp = fields.timestamp ?? fields.timestampMs;
  if (rawTimestamp === undefined) return { problem: 'missing "timestamp"' };
  if (typeof rawTimestamp !== 'string' && typeof rawTimestamp !== 'number') return { problem: '"timestamp" must be an ISO 8601 string or epoch milliseconds' };
  const timestampMs = parseTimestamp(String(rawTimestamp));
  if (typeof timestampMs === 'string') return { problem: timestampMs };
  const rawHeap = fields.heapUsedMb;
  if (rawHeap === undefined) return { problem: 'missing "heapUsedMb"' };
  if (typeof rawHeap !== 'string' && typeof rawHeap !== 'number') return { problem: '"heapUsedMb" must be a number' };
  const heapUsedMb = parseHeapMb(String(rawHeap));
  if (typeof heapUsedMb === 'string') return { problem: heapUsedMb };
  return { timestampMs, heapUsedMb };
}

/** Below this an epoch number is almost surely seconds (1e11 ms is March 1973). */
const SMALLEST_EPOCH_MS = 1e11;

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch milliseconds, or a description of what is wrong. */
function parseTimestamp(raw: string): number | string {
  const value = raw.trim();
  if (/^\d+(\.\d+)?$/.test(value)) {
    const epochMs = Number(value);
    if (epochMs < SMALLEST_EPOCH_MS) {
      return `timestamp ${value} is before 1973 as epoch milliseconds; epoch seconds? (use milliseconds or ISO 8601)`;
    }
    return epochMs;
  }
  const match = ISO_8601.exec(value);
  if (!match) return `timestamp "${value}" is neither ISO 8601 (2025-01-31T14:00:00Z) nor epoch milliseconds`;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone] = match;
  // No offset means UTC: a local-time reading would make the verdict depend on the machine's
  // time zone, and a daylight-saving jump would look like an hour of missing growth.
  const offset = zone ? normaliseOffset(zone) : 'Z';
  const iso = `${year}-${month}-${day}T${hour}:${minute}:${second}.${(fraction + '000').slice(0, 3)}${offset}`;
  const epochMs = Date.parse(iso);
  if (Number.isNaN(epochMs) || !isRealDate(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second))) {
    return `timestamp "${value}" is not a real date and time`;
  }
  return epochMs;
}

function normaliseOffset(zone: string): string {
  if (zone.toUpperCase() === 'Z') return 'Z';
  return zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
}

/** Date.parse rolls 2025-02-30 over to March; a heap series with such a date has a typo. */
function isRealDate(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
}

function parseHeapMb(raw: string): number | string {
  const value = raw.trim();
  const heapUsedMb = Number(value);
  if (value === '' || !Number.isFinite(heapUsedMb)) return `heapUsedMb "${value}" is not a number`;
  if (heapUsedMb < 0) return `heapUsedMb ${value} is negative`;
  return heapUsedMb;
}

function describeBadLines(sourceName: string, format: HeapSeriesFormat, badLines: readonly BadLine[]): string {
  const shown = badLines.slice(0, MAX_REPORTED_BAD_LINES).map((bad) => `  line ${bad.line}: ${bad.problem}`);
  const more = badLines.length > MAX_REPORTED_BAD_LINES ? [`  ... and ${badLines.length - MAX_REPORTED_BAD_LINES} more`] : [];
  const kind = format === 'csv' ? 'CSV' : 'JSON lines';
  return [`${sourceName}: ${badLines.length} malformed line${badLines.length === 1 ? '' : 's'} (read as ${kind})`, ...shown, ...more].join('\n');
}
