import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import type { CodeSite, Hotspot } from '../../contracts/hotspot';

/**
 * What a line's self value measures, named after its unit: time profiles rank by `selfMs` (the
 * job result's Hotspot), heap profiles by `selfBytes`, anything else by `selfCount`.
 */
export type SelfField = 'selfMs' | 'selfBytes' | 'selfCount';

type RankedOf<F extends SelfField> = {
  selfField: F;
  hotspots: Array<CodeSite & { selfPercent: number } & Record<F, number>>;
  /** The sample type ranked, e.g. `wall` (in milliseconds). */
  sampleType: string;
  unit: string;
  /** Busy total the percentages are of (idle excluded), in ms for time profiles. */
  totalValue: number;
};

/** A ranking; narrow on `selfField` to read the rows' value (`selfField === 'selfMs'` gives Hotspot rows). */
export type RankedProfile = RankedOf<'selfMs'> | RankedOf<'selfBytes'> | RankedOf<'selfCount'>;

/**
 * V8's pseudo-frames for a thread with nothing to run. They are the absence of work, so they are
 * left out of the ranking and of the total: a job that mostly awaits Postgres still shows which
 * code it spent its CPU in.
 */
const IDLE_FRAMES = new Set(['(idle)', '(program)', 'Idle']);

/** Preferred sample types, most useful first: wall or CPU time for time profiles, bytes for heap. */
const RANKABLE_TYPES = ['wall', 'cpu', 'space', 'inuse_space', 'alloc_space'];

/** Reads a `.pprof` file's bytes, gzipped (as @datadog/pprof and dd-trace write them) or not. */
export function decodeProfile(bytes: Uint8Array): Profile {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return Profile.decode(raw);
}

/**
 * Ranks the leaf frames of a profile by self value: the function and line that were executing when
 * a sample was taken (stacks are leaf-first). Lines of one function are kept apart, so the answer
 * is a line to open, not only a function name.
 */
export interface RankOptions {
  top?: number;
  sampleType?: string;
  /** Maps a frame's file to the one to report (e.g. compiled JavaScript back to its TypeScript source). */
  resolveFile?: (file: string) => string;
}

export function rankHotspots(profile: Profile, options: RankOptions = {}): RankedProfile {
  const strings = profile.stringTable.strings;
  const text = (index: number | bigint | undefined): string => strings[Number(index ?? 0)] ?? '';
  const types = profile.sampleType.map((valueType) => ({ type: text(valueType.type), unit: text(valueType.unit) }));
  const wanted = options.sampleType ?? RANKABLE_TYPES.find((type) => types.some((candidate) => candidate.type === type));
  let valueIndex = types.findIndex((candidate) => candidate.type === wanted);
  if (valueIndex < 0) valueIndex = types.length - 1;
  const { type: sampleType, unit } = types[valueIndex] ?? { type: 'samples', unit: 'count' };
  // Nanoseconds are reported as milliseconds: the unit people read job timings in.
  const scale = unit === 'nanoseconds' ? 1e-6 : unit === 'microseconds' ? 1e-3 : 1;

  const locations = new Map(profile.location.map((location) => [String(location.id), location]));
  const functions = new Map(profile.function.map((fn) => [String(fn.id), fn]));
  const selfByLine = new Map<string, CodeSite & { self: number }>();
  let totalValue = 0;
  for (const sample of profile.sample) {
    const value = Number(sample.value[valueIndex] ?? 0) * scale;
    if (value === 0) continue;
    const leaf = locations.get(String(sample.locationId[0]));
    // The first line of a location is the innermost when the compiler inlined callees into it.
    const line = leaf?.line[0];
    const fn = line ? functions.get(String(line.functionId)) : undefined;
    const name = fn ? text(fn.name) || '(anonymous)' : '(unknown)';
    if (IDLE_FRAMES.has(name)) continue;
    totalValue += value;
    const file = fn ? (options.resolveFile ?? ((name: string) => name))(text(fn.filename)) : '';
    const lineNumber = Number(line?.line ?? 0);
    const key = `${name}\u0000${file}\u0000${lineNumber}`;
    const entry = selfByLine.get(key) ?? { function: name, file, line: lineNumber, self: 0 };
    entry.self += value;
    selfByLine.set(key, entry);
  }
  const selfField: SelfField = scale !== 1 || unit === 'milliseconds' ? 'selfMs' : unit === 'bytes' ? 'selfBytes' : 'selfCount';
  const hotspots = [...selfByLine.values()]
    .sort((left, right) => right.self - left.self)
    .slice(0, options.top ?? 5)
    .map(({ self, ...site }) => ({
      ...site,
      selfPercent: totalValue > 0 ? round((self / totalValue) * 100) : 0,
      [selfField]: round(self),
    }));
  return { selfField, hotspots, sampleType, unit: scale === 1 ? unit : 'milliseconds', totalValue: round(totalValue) } as RankedProfile;
}

/** The hotspots of a time (wall or CPU) profile, as job results carry them. */
export function timeHotspots(ranked: RankedProfile): Hotspot[] {
  if (ranked.selfField !== 'selfMs') throw new Error(`a ${ranked.sampleType} profile has no self time`);
  return ranked.hotspots;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
