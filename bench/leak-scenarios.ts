/**
 * The simulated workers of bench/leak-detector, and the loop that feeds each one's series to the
 * verdict and the alert exactly as the scheduler will.
 */

import {
  evaluateHeapTrend,
  INITIAL_LEAK_ALERT_STATE,
  nextLeakAlertState,
  resolveHeapTrendOptions,
  type HeapSample,
  type LeakAlertState,
} from '../src/memory/trend';
import { hashName, mulberry32, simulateHeapSeries, uniform, uniformInteger, type HeapSeriesShape, type Random } from './heap-series-simulation';

export type Target = { kind: 'detect'; withinSamples: number; minRate: number } | { kind: 'quiet'; maxRate: number };

export interface Scenario {
  name: string;
  /** detect: a leak the alert should raise, timed from its onset; quiet: any raise is a false alarm. */
  kind: 'detect' | 'quiet';
  shape: (random: Random) => HeapSeriesShape;
  /** The acceptance target; scenarios without one are there to show the detector's limits. */
  target?: Target;
  /** For detect scenarios without a target: the horizon of the reported detection rate. */
  reportWithin?: number;
  /** Sample from which detection is timed (default: the leak's onset). */
  timedFrom?: (shape: HeapSeriesShape) => number;
}

const BASE_MB = 180;
const DAY = 24;
const MONTH = 720;

const leak = (leakMbPerHour: number, noiseSigmaMb: number, extra: Partial<HeapSeriesShape> = {}): HeapSeriesShape => ({
  samples: 2 * DAY,
  baseMb: BASE_MB,
  noiseSigmaMb,
  leakMbPerHour,
  ...extra,
});

const flat = (noiseSigmaMb: number, extra: Partial<HeapSeriesShape> = {}): HeapSeriesShape => ({
  samples: MONTH,
  baseMb: BASE_MB,
  noiseSigmaMb,
  ...extra,
});

/** Restarts at irregular intervals of minHours–maxHours, as deploys and OOM kills happen. */
function restartSchedule(random: Random, samples: number, minHours: number, maxHours: number): number[] {
  const restarts: number[] = [];
  for (let at = uniformInteger(random, minHours, maxHours); at < samples; at += uniformInteger(random, minHours, maxHours)) restarts.push(at);
  return restarts;
}

export const SCENARIOS: Scenario[] = [
  // The acceptance targets.
  { name: 'leak 12 MB/h, σ 10', kind: 'detect', shape: () => leak(12, 10), target: { kind: 'detect', withinSamples: 12, minRate: 0.95 } },
  { name: 'leak 20 MB/h, σ 10', kind: 'detect', shape: () => leak(20, 10), target: { kind: 'detect', withinSamples: 8, minRate: 0.95 } },
  { name: 'flat, σ 10, 720 h', kind: 'quiet', shape: () => flat(10), target: { kind: 'quiet', maxRate: 0.005 } },
  {
    name: 'one 150 MB step in h 1-72, σ 10',
    kind: 'quiet',
    shape: (random) => flat(10, { samples: 7 * DAY, steps: [{ atSample: uniformInteger(random, 1, 72), sizeMb: 150 }] }),
    target: { kind: 'quiet', maxRate: 0.01 },
  },
  {
    name: 'GC sawtooth 2-6 h, 30-150 MB, σ 10',
    kind: 'quiet',
    shape: (random) => {
      const periodHours = uniformInteger(random, 2, 6);
      return flat(10, { sawtooth: { periodHours, amplitudeMb: uniform(random, 30, 150), phaseHours: uniform(random, 0, periodHours) } });
    },
    target: { kind: 'quiet', maxRate: 0.01 },
  },

  // The range the issue asks the simulation to cover, without targets of its own.
  { name: 'leak 5 MB/h (under threshold), σ 10', kind: 'detect', shape: () => leak(5, 10, { samples: 7 * DAY }), reportWithin: 7 * DAY },
  { name: 'leak 8 MB/h, σ 10', kind: 'detect', shape: () => leak(8, 10, { samples: 7 * DAY }), reportWithin: 2 * DAY },
  { name: 'leak 30 MB/h, σ 10', kind: 'detect', shape: () => leak(30, 10), reportWithin: 8 },
  { name: 'leak 50 MB/h, σ 10', kind: 'detect', shape: () => leak(50, 10), reportWithin: 8 },
  { name: 'leak 12 MB/h, σ 2', kind: 'detect', shape: () => leak(12, 2), reportWithin: 12 },
  { name: 'leak 12 MB/h, σ 20', kind: 'detect', shape: () => leak(12, 20), reportWithin: DAY },
  { name: 'leak 12 MB/h, σ 30', kind: 'detect', shape: () => leak(12, 30), reportWithin: DAY },
  { name: 'leak 20 MB/h, σ 30', kind: 'detect', shape: () => leak(20, 30), reportWithin: 12 },
  { name: 'leak 12 MB/h after 48 flat h, σ 10', kind: 'detect', shape: () => leak(12, 10, { samples: 5 * DAY, leakOnsetSample: 2 * DAY }), reportWithin: DAY },
  { name: 'leak 20 MB/h after 48 flat h, σ 10', kind: 'detect', shape: () => leak(20, 10, { samples: 5 * DAY, leakOnsetSample: 2 * DAY }), reportWithin: 12 },
  {
    name: 'leak 12 MB/h + 150 MB step, σ 10',
    kind: 'detect',
    shape: (random) => leak(12, 10, { steps: [{ atSample: uniformInteger(random, 1, 12), sizeMb: 150 }] }),
    reportWithin: 12,
  },
  {
    name: 'leak 12 MB/h in 60 MB chunks every 5 h, σ 10',
    kind: 'detect',
    shape: () => leak(0, 10, { samples: 3 * DAY, steps: Array.from({ length: 14 }, (_, chunk) => ({ atSample: 5 * (chunk + 1), sizeMb: 60 })) }),
    reportWithin: DAY,
  },
  { name: 'flat, σ 30, 720 h', kind: 'quiet', shape: () => flat(30) },
  { name: 'flat, σ 10 autocorrelated (ρ 0.5), 720 h', kind: 'quiet', shape: () => flat(10, { noiseAutocorrelation: 0.5 }) },
  {
    name: 'one 150 MB step in h 1-72, σ 30',
    kind: 'quiet',
    shape: (random) => flat(30, { samples: 7 * DAY, steps: [{ atSample: uniformInteger(random, 1, 72), sizeMb: 150 }] }),
  },
  {
    name: 'GC sawtooth 7-12 h, 30-150 MB, σ 10',
    kind: 'quiet',
    shape: (random) => {
      const periodHours = uniformInteger(random, 7, 12);
      return flat(10, { sawtooth: { periodHours, amplitudeMb: uniform(random, 30, 150), phaseHours: uniform(random, 0, periodHours) } });
    },
  },
  {
    name: 'fresh worker warm-up 50-150 MB, σ 10',
    kind: 'quiet',
    shape: (random) => flat(10, { samples: 7 * DAY, warmUp: { mb: uniform(random, 50, 150), hours: uniform(random, 1, 4), uptimeAtFirstSampleHours: 0 } }),
  },
  {
    name: 'same, first sample after 12 h of uptime',
    kind: 'quiet',
    shape: (random) => flat(10, { samples: 7 * DAY, warmUp: { mb: uniform(random, 50, 150), hours: uniform(random, 1, 4), uptimeAtFirstSampleHours: 12 } }),
  },
  {
    name: 'restarts every 1-3 days + warm-up, σ 10',
    kind: 'quiet',
    shape: (random) =>
      flat(10, { restartSamples: restartSchedule(random, MONTH, DAY, 3 * DAY), warmUp: { mb: uniform(random, 50, 150), hours: uniform(random, 1, 4) } }),
  },
  {
    // The series outlives the process (stable worker id). The alert raised in the first life holds
    // for ~8 samples after the restart (Theil–Sen shrugs off the drop), then clears; timed from the
    // restart, this is when it is raised again for the new life's leak.
    name: 'leak 20 MB/h, alert back after a restart',
    kind: 'detect',
    shape: (random) => leak(20, 10, { samples: 7 * DAY, restartSamples: restartSchedule(random, 7 * DAY, 2 * DAY, 3 * DAY) }),
    timedFrom: (shape) => shape.restartSamples![0]!,
    reportWithin: DAY,
  },
];

export interface SeedOutcomes {
  /**
   * Per seed: samples from the leak's onset (detect) or the series start (quiet) until the alert is
   * raised, counting the sample that raised it; null if never.
   */
  raisedAfter: Array<number | null>;
  /** Detect scenarios: seeds whose alert was up before the onset. */
  earlyAlarms: number;
}

export const BENCH_OPTIONS = resolveHeapTrendOptions();

/** Work for one thread of the bench: the same seed slice of every selected scenario. */
export interface WorkerTask {
  scenarioNames: string[];
  fromSeed: number;
  toSeed: number;
}

/** Runs seeds [fromSeed, toSeed) of a scenario; seed i gives the same series whichever process runs it. */
export function runSeeds(scenario: Scenario, fromSeed: number, toSeed: number): SeedOutcomes {
  const raisedAfter: Array<number | null> = [];
  let earlyAlarms = 0;
  const scenarioSeed = hashName(scenario.name);
  for (let seed = fromSeed; seed < toSeed; seed++) {
    const random = mulberry32(scenarioSeed + Math.imul(seed, 0x9e3779b9));
    const shape = scenario.shape(random);
    const series = simulateHeapSeries(shape, random);
    const onset = scenario.kind === 'quiet' ? 0 : (scenario.timedFrom?.(shape) ?? shape.leakOnsetSample ?? 0);
    const alert = alertHistory(series);
    if (alert.slice(0, onset).some((raised) => raised)) earlyAlarms++;
    // The first time the alert goes up at or after the onset: after a restart that means up again.
    const raisedAt = alert.findIndex((raised, index) => raised && index >= onset && (index === 0 || !alert[index - 1]));
    raisedAfter.push(raisedAt >= 0 ? raisedAt - onset + 1 : null);
  }
  return { raisedAfter, earlyAlarms };
}

/** Whether the alert is up after each sample, feeding samples one by one as the scheduler does. */
export function alertHistory(series: readonly HeapSample[]): boolean[] {
  let state: LeakAlertState = INITIAL_LEAK_ALERT_STATE;
  const bounded: HeapSample[] = [];
  return series.map((sample) => {
    bounded.push(sample);
    if (bounded.length > BENCH_OPTIONS.window) bounded.shift();
    state = nextLeakAlertState(state, evaluateHeapTrend(bounded, BENCH_OPTIONS), BENCH_OPTIONS).state;
    return state.raised;
  });
}
