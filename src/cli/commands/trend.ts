import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../../contracts/errors';
import { parseHeapSeries } from '../../memory/heap-series-file';
import { DEFAULT_HEAP_TREND_OPTIONS, evaluateHeapTrend, type HeapTrendVerdict } from '../../memory/trend';
import { printJson, runCommand } from '../run-command';

interface TrendOptions {
  json?: boolean;
  threshold?: number;
}

/** A heap series file is a few KB per month of hourly samples; anything this big is the wrong file. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export function registerTrendCommand(program: Command): void {
  program
    .command('trend')
    .description('leak verdict for a heap series of your own: Theil–Sen slope and Mann–Kendall test over its last samples')
    .argument('<file>', 'CSV "timestamp,heapUsedMb" (header optional) or JSON lines {"timestamp":..., "heapUsedMb":...}; - for stdin')
    .option('--threshold <mb/h>', `leak threshold in MB/hour (default ${DEFAULT_HEAP_TREND_OPTIONS.thresholdMbPerHour})`, thresholdOption)
    .option('--json', 'print one JSON object: { samples, slopeMbPerHour, pValue, netGrowthMb, leak, reason, samplesInFile }')
    .addHelpText(
      'after',
      '\nTimestamps are ISO 8601 (no offset = UTC) or epoch milliseconds; heapUsedMb is post-GC used heap in MB.\n' +
        `The verdict covers the last ${DEFAULT_HEAP_TREND_OPTIONS.window} samples and needs at least ${DEFAULT_HEAP_TREND_OPTIONS.minSamples}.\n` +
        '\nExamples:\n  ragscope trend heap.csv\n  ragscope trend samples.jsonl --json\n  ragscope trend heap.csv --threshold 5\n' +
        '  printf "timestamp,heapUsedMb\\n2025-01-01T00:00Z,210\\n..." | ragscope trend -\n',
    )
    .action(
      runCommand(async (file: string, options: TrendOptions) => {
        const text = file === '-' ? await readStdin() : await readSeriesFile(file);
        const { samples } = parseHeapSeries(text, file === '-' ? 'stdin' : file);
        const verdict = evaluateHeapTrend(samples, { thresholdMbPerHour: options.threshold });
        if (options.json) return printJson(verdictJson(verdict, samples.length));
        process.stdout.write(formatVerdict(verdict, samples.length, options.threshold ?? DEFAULT_HEAP_TREND_OPTIONS.thresholdMbPerHour));
      }),
    );
}

function thresholdOption(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 100_000) {
    throw new InvalidArgumentError('expected MB per hour, a number above 0 (e.g. 10)');
  }
  return value;
}

async function readSeriesFile(file: string): Promise<string> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new UserError(`${file} is a directory, not a heap series file`);
    if (info.size > MAX_FILE_BYTES) throw new UserError(`${file} is ${Math.round(info.size / 1024 / 1024)} MB; a heap series file is expected to be under 64 MB`);
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`no such file: ${file}`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`cannot read ${file}: permission denied`);
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FILE_BYTES) throw new UserError('stdin holds over 64 MB; a heap series is expected to be far smaller');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Rounded so the JSON reads like the sentence: 0.001 MB and 3 significant digits of p are plenty. */
function verdictJson(verdict: HeapTrendVerdict, samplesInFile: number) {
  const round = (value: number | null): number | null => (value === null ? null : Math.round(value * 1000) / 1000);
  return {
    samples: verdict.samples,
    slopeMbPerHour: round(verdict.slopeMbPerHour),
    pValue: verdict.pValue === null ? null : Number(verdict.pValue.toPrecision(3)),
    netGrowthMb: round(verdict.netGrowthMb),
    leak: verdict.leak,
    reason: verdict.reason,
    samplesInFile,
  };
}

function formatVerdict(verdict: HeapTrendVerdict, samplesInFile: number, thresholdMbPerHour: number): string {
  const signed = (value: number, digits: number): string => `${value > 0 ? '+' : ''}${value.toFixed(digits)}`;
  const covered = verdict.samples === samplesInFile ? `${samplesInFile} samples` : `last ${verdict.samples} of ${samplesInFile} samples`;
  const lines = [`verdict:     ${verdict.decision === 'insufficient-data' ? 'NO VERDICT YET' : verdict.leak ? 'LEAK' : 'no leak'}  (${covered}, ${verdict.spanHours.toFixed(1)} h)`];
  if (verdict.slopeMbPerHour !== null) lines.push(`slope:       ${signed(verdict.slopeMbPerHour, 2)} MB/h  (leak threshold ${thresholdMbPerHour} MB/h)`);
  if (verdict.pValue !== null) lines.push(`p-value:     ${verdict.pValue < 0.0001 ? '< 0.0001' : verdict.pValue.toFixed(4)}  (one-sided Mann–Kendall, leak needs < ${DEFAULT_HEAP_TREND_OPTIONS.alpha})`);
  if (verdict.netGrowthMb !== null) lines.push(`net growth:  ${signed(verdict.netGrowthMb, 1)} MB  (median of last 3 − median of first 3)`);
  lines.push(`reason:      ${verdict.reason}`);
  return `${lines.join('\n')}\n`;
}
