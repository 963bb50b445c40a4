import { median, pairedRatio, percentile, type Estimate } from './stats';

/**
 * The pure half of bench/scale.ts: figures of one batch from its jobs' own timestamps, CPU time
 * from /proc text, the per-round pairing into scaling ratios, and the printed table. No I/O, so
 * every number the bench prints can be checked on fixed input.
 */

export type Topology = 'single' | 'cluster';

export const TOPOLOGY_LABELS: Record<Topology, string> = { single: 'single Redis', cluster: '3-primary Cluster' };

/** BullMQ's own times of a finished job (ms since the epoch, one machine's clock). */
export interface JobTimes {
  /** When the producer added it. */
  timestamp: number;
  /** When a worker took it. */
  processedOn: number;
  /** When it completed. */
  finishedOn: number;
}

export interface BatchFigures {
  /** Jobs over the span from the first enqueue to the last completion. */
  jobsPerSecond: number;
  /** End-to-end (enqueue → completed) percentiles, ms. */
  p50Ms: number;
  p95Ms: number;
  /** Median time inside a worker (taken → completed), ms: grows when workers share too few cores. */
  runP50Ms: number;
}

export function batchFigures(jobs: readonly JobTimes[]): BatchFigures {
  if (jobs.length === 0) throw new Error('a batch without finished jobs has no figures');
  const firstEnqueue = Math.min(...jobs.map((job) => job.timestamp));
  const lastFinish = Math.max(...jobs.map((job) => job.finishedOn));
  // Millisecond timestamps: a batch that took under 1 ms is counted as 1 ms, never as infinitely fast.
  const spanMs = Math.max(1, lastFinish - firstEnqueue);
  const endToEnd = jobs.map((job) => job.finishedOn - job.timestamp);
  return {
    jobsPerSecond: (jobs.length * 1000) / spanMs,
    p50Ms: percentile(endToEnd, 0.5),
    p95Ms: percentile(endToEnd, 0.95),
    runP50Ms: percentile(
      jobs.map((job) => job.finishedOn - job.processedOn),
      0.5,
    ),
  };
}

/** utime + stime in clock ticks from the text of /proc/<pid>/stat. */
export function processCpuTicks(stat: string): number {
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(/\s+/);
  // Fields 14 and 15 of the file; `fields` starts at field 3.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return utime + stime;
}

/** Busy and total clock ticks of all cores together, from the `cpu` line of /proc/stat. */
export function machineCpuTicks(procStat: string): { busy: number; total: number } {
  const line = procStat.split('\n').find((entry) => entry.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  // user nice system idle iowait irq softirq steal; guest time is already inside user.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}

/** One measured batch: one topology, one number of worker processes, one round. */
export interface Batch extends BatchFigures {
  topology: Topology;
  workers: number;
  round: number;
  /** CPU of the busiest Redis node during the batch, % of one core (Redis runs commands on one). */
  redisCorePct: number;
  /** CPU of the other Redis nodes together, % of one core (0 on a single server): a queue lives on one node. */
  redisOtherNodesPct: number;
  /** CPU time of the busiest Redis node per job, ms: 1000 over it is where that node's core would be full. */
  redisCpuMsPerJob: number;
  /** How long adding the batch took, ms: small against the batch, or the producer and not the workers set the pace. */
  enqueueMs: number;
  /** CPU time of all worker processes together per job, ms. */
  workerCpuMsPerJob: number;
  /** Share of all the machine's cores busy during the batch, % (every process, not only ours). */
  machineBusyPct: number;
}

type Column = keyof Pick<Batch, 'jobsPerSecond' | 'p50Ms' | 'p95Ms' | 'runP50Ms' | 'enqueueMs' | 'redisCpuMsPerJob' | 'workerCpuMsPerJob' | 'redisCorePct' | 'redisOtherNodesPct' | 'machineBusyPct'>;

export type CellMedians = Record<Column, number>;

export interface ScaleSummary {
  topologies: readonly Topology[];
  workerCounts: readonly number[];
  rounds: number;
  /** Medians over rounds, [topology][index of the worker count]. */
  cells: Record<Topology, CellMedians[]>;
  /**
   * Throughput of each worker count over the first one, median of per-round ratios with a 95%
   * bootstrap CI, [topology][index of the worker count] (the first entry is 1 by definition).
   */
  scaling: Record<Topology, Estimate[]>;
  /** Cluster throughput over single Redis, per worker count, paired by round. */
  clusterOverSingle?: Estimate[];
}

const COLUMNS: readonly Column[] = ['jobsPerSecond', 'p50Ms', 'p95Ms', 'runP50Ms', 'enqueueMs', 'redisCpuMsPerJob', 'workerCpuMsPerJob', 'redisCorePct', 'redisOtherNodesPct', 'machineBusyPct'];

/** Batches of one topology and worker count, ordered by round. */
function series(batches: readonly Batch[], topology: Topology, workers: number): Batch[] {
  return batches.filter((batch) => batch.topology === topology && batch.workers === workers).sort((left, right) => left.round - right.round);
}

/**
 * Medians and per-round ratios. Every (topology, worker count) must have a batch in every round:
 * a ratio is only ever taken between batches of the same round, which ran minutes apart at most.
 */
export function summarise(batches: readonly Batch[], topologies: readonly Topology[], workerCounts: readonly number[]): ScaleSummary {
  const rounds = [...new Set(batches.map((batch) => batch.round))].sort((left, right) => left - right);
  if (rounds.length === 0) throw new Error('no batches to summarise');
  const cells = {} as Record<Topology, CellMedians[]>;
  const scaling = {} as Record<Topology, Estimate[]>;
  for (const topology of topologies) {
    const perCount = workerCounts.map((workers) => {
      const measured = series(batches, topology, workers);
      const missing = rounds.filter((round) => !measured.some((batch) => batch.round === round));
      if (missing.length > 0) throw new Error(`${TOPOLOGY_LABELS[topology]} with ${workers} workers has no batch in round(s) ${missing.join(', ')}`);
      return measured;
    });
    cells[topology] = perCount.map((measured) => Object.fromEntries(COLUMNS.map((column) => [column, median(measured.map((batch) => batch[column]))])) as CellMedians);
    const base = perCount[0]!.map((batch) => batch.jobsPerSecond);
    scaling[topology] = perCount.map((measured) => pairedRatio(measured.map((batch) => batch.jobsPerSecond), base));
  }
  const clusterOverSingle =
    topologies.includes('single') && topologies.includes('cluster')
      ? workerCounts.map((workers) =>
          pairedRatio(
            series(batches, 'cluster', workers).map((batch) => batch.jobsPerSecond),
            series(batches, 'single', workers).map((batch) => batch.jobsPerSecond),
          ),
        )
      : undefined;
  return { topologies, workerCounts, rounds: rounds.length, cells, scaling, ...(clusterOverSingle ? { clusterOverSingle } : {}) };
}

/** Left-aligned first column, right-aligned others, columns separated by two spaces. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!)))
      .join('  ')
      .trimEnd(),
  );
}

function ratio(estimate: Estimate): string {
  return `${estimate.value.toFixed(2)} (${estimate.low.toFixed(2)}–${estimate.high.toFixed(2)})`;
}

const CELL_HEADERS = ['jobs/s', 'p50 ms', 'p95 ms', 'run p50', 'CPU/job', 'Redis %', 'machine %'];

function cellText(cell: CellMedians): string[] {
  return [
    cell.jobsPerSecond.toFixed(1),
    cell.p50Ms.toFixed(0),
    cell.p95Ms.toFixed(0),
    cell.runP50Ms.toFixed(0),
    cell.workerCpuMsPerJob.toFixed(1),
    cell.redisCorePct.toFixed(0),
    cell.machineBusyPct.toFixed(0),
  ];
}

/** The table the bench prints: topologies side by side, a row per worker count, then the ratios. */
export function formatScaleReport(summary: ScaleSummary): string {
  const { topologies, workerCounts } = summary;
  const header = ['workers', ...topologies.flatMap((topology, index) => (index > 0 ? ['|', ...CELL_HEADERS] : CELL_HEADERS))];
  const rows = workerCounts.map((workers, row) => [
    String(workers),
    ...topologies.flatMap((topology, index) => [...(index > 0 ? ['|'] : []), ...cellText(summary.cells[topology][row]!)]),
  ]);
  const table = alignColumns([header, ...rows]);
  // Each topology's name sits over its half of the table.
  const headerLine = table[0]!;
  let titles = `${' '.repeat(headerLine.indexOf(CELL_HEADERS[0]!))}${TOPOLOGY_LABELS[topologies[0]!]}`;
  for (const topology of topologies.slice(1)) {
    titles = `${titles.padEnd(headerLine.indexOf('|', titles.length))}| ${TOPOLOGY_LABELS[topology]}`;
  }
  const base = workerCounts[0]!;
  const ratioRows: string[][] = [['throughput ratio', ...topologies.map((topology) => TOPOLOGY_LABELS[topology])]];
  workerCounts.forEach((workers, index) => {
    if (index === 0) return;
    ratioRows.push([`${workers}w / ${base}w`, ...topologies.map((topology) => ratio(summary.scaling[topology][index]!))]);
  });
  const lines = [
    `medians over ${summary.rounds} round${summary.rounds === 1 ? '' : 's'}`,
    titles,
    ...table,
    '',
    `median of per-round ratios, 95% bootstrap CI:`,
    ...alignColumns(ratioRows),
  ];
  if (summary.clusterOverSingle) {
    lines.push(`Cluster / single: ${workerCounts.map((workers, index) => `${workers}w ${ratio(summary.clusterOverSingle![index]!)}`).join(', ')}`);
  }
  const slowestEnqueue = Math.max(...topologies.flatMap((topology) => summary.cells[topology].map((cell) => cell.enqueueMs)));
  lines.push(`adding a batch took at most ${slowestEnqueue.toFixed(0)} ms (median per fleet)`);
  // Redis CPU per job at the fastest worker count of each topology: where one node's core would be full.
  const redisBound = topologies.map((topology) => {
    const cells = summary.cells[topology];
    const fastest = cells.reduce((best, cell) => (cell.jobsPerSecond > best.jobsPerSecond ? cell : best), cells[0]!);
    return `${TOPOLOGY_LABELS[topology]} ${fastest.redisCpuMsPerJob.toFixed(3)} ms per job, full near ${Math.round(1000 / fastest.redisCpuMsPerJob)} jobs/s`;
  });
  lines.push(`busiest Redis node's CPU (at the fastest worker count): ${redisBound.join('; ')}`);
  if (topologies.includes('cluster')) {
    const others = summary.cells.cluster.map((cell, index) => `${workerCounts[index]}w ${cell.redisOtherNodesPct.toFixed(1)}%`);
    lines.push(`the other Cluster nodes together (each queue lives in one slot, so on one node): ${others.join(', ')} of one core`);
  }
  lines.push(
    '',
    'p50/p95: enqueue → completed (job timestamp → finishedOn) of jobs enqueued at once; run p50: taken → completed, inside a worker;',
    'CPU/job: CPU ms of all worker processes per job; Redis %: busiest Redis node, % of one core (Redis runs commands on one core);',
    'machine %: all cores busy, every process on the machine included.',
  );
  return `${lines.join('\n')}\n`;
}
