import { mulberry32, type Random } from '../src/random';

export { mulberry32, type Random };
/**
 * Seeded synthetic heap series for bench/leak-detector: hourly post-GC heap readings built from a
 * baseline, noise, a leak, one-off steps, a GC sawtooth, restarts and cache warm-up. Same seed, same
 * series, on every machine.
 */

import type { HeapSample } from '../src/memory/trend';



/** Standard normal draws by Box–Muller (the second value of each pair is dropped: simpler, and speed is not the point). */
export function normalSampler(random: Random): () => number {
  return () => {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    return radius * Math.cos(2 * Math.PI * random());
  };
}

export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * random();
}

export function uniformInteger(random: Random, low: number, high: number): number {
  return Math.floor(uniform(random, low, high + 1));
}

/** FNV-1a of a scenario name, so each scenario draws its own seeds. */
export function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/** What a simulated worker's heap does, one sample an hour. */
export interface HeapSeriesShape {
  samples: number;
  baseMb: number;
  noiseSigmaMb: number;
  /** AR(1) coefficient of the noise: real heap residue lingers from one hour to the next. */
  noiseAutocorrelation?: number;
  leakMbPerHour?: number;
  /** First sample that leaks (default 0). */
  leakOnsetSample?: number;
  /** One-off level shifts, kept until the next restart. */
  steps?: ReadonlyArray<{ atSample: number; sizeMb: number }>;
  /** Old-space growth between major GCs when samples are not taken right after one. */
  sawtooth?: { periodHours: number; amplitudeMb: number; phaseHours: number };
  /** Samples at which the process restarts: leak and steps are lost, warm-up starts again. */
  restartSamples?: readonly number[];
  /**
   * Caches filling after each (re)start: the heap approaches its level from `mb` below with time
   * constant `hours`. `uptimeAtFirstSampleHours` set = the series begins with a fresh process that
   * had been up that long at the first sample; unset = the process was long warm by then.
   */
  warmUp?: { mb: number; hours: number; uptimeAtFirstSampleHours?: number };
}

const MS_PER_HOUR = 3_600_000;
/** Scheduler ticks are not exactly on the hour. */
const TICK_JITTER_MS = 60_000;
const SERIES_START_MS = Date.UTC(2025, 0, 1);

export function simulateHeapSeries(shape: HeapSeriesShape, random: Random): HeapSample[] {
  const normal = normalSampler(random);
  const restarts = [...(shape.restartSamples ?? [])].sort((left, right) => left - right);
  const samples: HeapSample[] = [];
  let noise = 0;
  const autocorrelation = shape.noiseAutocorrelation ?? 0;
  // Stationary AR(1) noise keeps the marginal σ at noiseSigmaMb whatever the autocorrelation.
  const innovationSigma = shape.noiseSigmaMb * Math.sqrt(1 - autocorrelation * autocorrelation);
  for (let index = 0; index < shape.samples; index++) {
    const lifeStart = restarts.filter((restart) => restart <= index).pop();
    const processStart = lifeStart ?? -(shape.warmUp?.uptimeAtFirstSampleHours ?? Number.POSITIVE_INFINITY);
    let heapMb = shape.baseMb;
    const leakStart = Math.max(shape.leakOnsetSample ?? 0, lifeStart ?? 0);
    if (shape.leakMbPerHour) heapMb += shape.leakMbPerHour * Math.max(0, index - leakStart);
    for (const step of shape.steps ?? []) if (step.atSample <= index && step.atSample > (lifeStart ?? -1)) heapMb += step.sizeMb;
    if (shape.sawtooth) {
      const { periodHours, amplitudeMb, phaseHours } = shape.sawtooth;
      const phase = (((index + phaseHours) % periodHours) + periodHours) % periodHours;
      heapMb += (amplitudeMb * phase) / periodHours;
    }
    if (shape.warmUp && Number.isFinite(processStart)) heapMb -= shape.warmUp.mb * Math.exp(-(index - processStart) / shape.warmUp.hours);
    noise = index === 0 ? shape.noiseSigmaMb * normal() : autocorrelation * noise + innovationSigma * normal();
    heapMb += noise;
    const jitterMs = (random() * 2 - 1) * TICK_JITTER_MS;
    samples.push({ timestampMs: SERIES_START_MS + index * MS_PER_HOUR + jitterMs, heapUsedMb: Math.max(1, heapMb) });
  }
  return samples;
}
