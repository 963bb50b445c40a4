import { describe, expect, it } from 'vitest';
import { alignColumns, batchFigures, formatScaleReport, machineCpuTicks, processCpuTicks, summarise, type Batch, type Topology } from '../../bench/scale-figures';

function batch(topology: Topology, workers: number, round: number, jobsPerSecond: number, extra: Partial<Batch> = {}): Batch {
  return {
    topology,
    workers,
    round,
    jobsPerSecond,
    p50Ms: 100,
    p95Ms: 200,
    runP50Ms: 10,
    enqueueMs: 20,
    redisCpuMsPerJob: 0.25,
    redisOtherNodesPct: topology === 'cluster' ? 0.5 : 0,
    redisCorePct: 5,
    workerCpuMsPerJob: 6,
    machineBusyPct: 90,
    ...extra,
  };
}

/** Two rounds in which 2 workers do exactly twice and 4 workers exactly 2.5 times what 1 does. */
function twoRounds(): Batch[] {
  return [0, 1].flatMap((round) => {
    const base = round === 0 ? 100 : 80;
    return (['single', 'cluster'] as const).flatMap((topology) => {
      const scale = topology === 'cluster' ? 0.9 : 1;
      return [batch(topology, 1, round, base * scale), batch(topology, 2, round, 2 * base * scale), batch(topology, 4, round, 2.5 * base * scale)];
    });
  });
}

describe('bench/scale figures', () => {
  it('takes throughput and latency from the jobs’ own timestamps', () => {
    // Four jobs enqueued at 0 ms, taken in turn, the last completing at 400 ms.
    const jobs = [0, 1, 2, 3].map((index) => ({ timestamp: 0, processedOn: index * 100, finishedOn: index * 100 + 100 }));
    expect(batchFigures(jobs)).toEqual({ jobsPerSecond: 10, p50Ms: 200, p95Ms: 400, runP50Ms: 100 });
  });

  it.each([
    ['a batch finishing within one millisecond', [{ timestamp: 5, processedOn: 5, finishedOn: 5 }], 1000],
    ['jobs enqueued at different times', [{ timestamp: 0, processedOn: 0, finishedOn: 50 }, { timestamp: 100, processedOn: 100, finishedOn: 200 }], 10],
  ])('counts throughput over the whole span for %s', (_, jobs, expected) => {
    expect(batchFigures(jobs).jobsPerSecond).toBe(expected);
  });

  it('refuses a batch without jobs', () => {
    expect(() => batchFigures([])).toThrow(/without finished jobs/);
  });

  it.each([
    ['a plain name', '4242 (redis-server) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 37 0 0 20 0 5 0 100 1 1', 187],
    ['a name with spaces and parentheses', '77 (node (worker) x) R 1 77 77 0 -1 0 0 0 0 0 12 3 0 0 20 0 1 0 1 1 1', 15],
  ])('reads utime + stime from /proc/<pid>/stat with %s', (_, line, ticks) => {
    expect(processCpuTicks(line)).toBe(ticks);
  });

  it('refuses text that is not a /proc/<pid>/stat line', () => {
    expect(() => processCpuTicks('nonsense')).toThrow(/not a \/proc/);
  });

  it('reads busy and total ticks of all cores from /proc/stat, idle and iowait not busy, guest not counted twice', () => {
    const text = 'cpu  100 10 50 800 40 0 5 0 30 0\ncpu0 50 5 25 400 20 0 3 0 15 0\nintr 1\n';
    expect(machineCpuTicks(text)).toEqual({ busy: 165, total: 1005 });
    expect(() => machineCpuTicks('intr 1\n')).toThrow(/no aggregate cpu line/);
  });

  it('pairs each worker count with the first one and Cluster with single Redis by round', () => {
    const summary = summarise(twoRounds(), ['single', 'cluster'], [1, 2, 4]);
    expect(summary.rounds).toBe(2);
    for (const topology of ['single', 'cluster'] as const) {
      expect(summary.scaling[topology].map((estimate) => estimate.value)).toEqual([1, 2, 2.5]);
      // Both rounds give the same ratio, so the interval has no width.
      expect(summary.scaling[topology][1]).toMatchObject({ low: 2, high: 2 });
    }
    expect(summary.clusterOverSingle!.map((estimate) => estimate.value.toFixed(6))).toEqual(['0.900000', '0.900000', '0.900000']);
    expect(summary.cells.single[0]!.jobsPerSecond).toBe(90);
    expect(summary.cells.cluster[2]!.jobsPerSecond).toBeCloseTo(202.5, 10);
  });

  it('refuses to pair when a fleet missed a round', () => {
    const batches = twoRounds().filter((entry) => !(entry.topology === 'cluster' && entry.workers === 2 && entry.round === 1));
    expect(() => summarise(batches, ['single', 'cluster'], [1, 2, 4])).toThrow(/3-primary Cluster with 2 workers has no batch in round\(s\) 1/);
  });

  it('aligns columns: first to the left, the rest to the right', () => {
    expect(alignColumns([['a', '1'], ['bbb', '100']])).toEqual(['a      1', 'bbb  100']);
  });

  it('prints both topologies side by side, a row per worker count, then the ratios with their intervals', () => {
    const report = formatScaleReport(summarise(twoRounds(), ['single', 'cluster'], [1, 2, 4]));
    const lines = report.split('\n');
    const header = lines.findIndex((line) => line.startsWith('workers'));
    expect(lines[header - 1]).toMatch(/^\s+single Redis\s+\| 3-primary Cluster$/);
    const table = lines.slice(header, header + 4);
    expect(table.map((line) => line.split(/\s+/)[0])).toEqual(['workers', '1', '2', '4']);
    // The two halves are separated at the same column on every row, under the title's separator.
    expect(new Set([lines[header - 1], ...table].map((line) => line!.indexOf('|'))).size).toBe(1);
    expect(table[1]).toMatch(/^1\s+90\.0\s+100\s+200\s+10\s+6\.0\s+5\s+90\s+\|\s+81\.0\s/);
    expect(report).toMatch(/2w \/ 1w\s+2\.00 \(2\.00–2\.00\)\s+2\.00 \(2\.00–2\.00\)/);
    expect(report).toMatch(/4w \/ 1w\s+2\.50 \(2\.50–2\.50\)\s+2\.50 \(2\.50–2\.50\)/);
    expect(report).toMatch(/Cluster \/ single: 1w 0\.90 \(0\.90–0\.90\), 2w 0\.90 .*, 4w 0\.90/);
    expect(report).toMatch(/^medians over 2 rounds$/m);
    expect(report).toMatch(/adding a batch took at most 20 ms/);
    expect(report).toMatch(/the other Cluster nodes together .*: 1w 0\.5%, 2w 0\.5%, 4w 0\.5% of one core/);
    expect(report).toMatch(/single Redis 0\.250 ms per job, full near 4000 jobs\/s; 3-primary Cluster 0\.250 ms per job, full near 4000 jobs\/s/);
  });
});
