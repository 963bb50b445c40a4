import { encode, time } from '@datadog/pprof';
import { describe, expect, it } from 'vitest';
import { decodeProfile, rankHotspots } from '../../src/telemetry/profiling/hotspots';
import { renderFlameGraph } from '../../src/telemetry/profiling/flamegraph';
import { syntheticProfile } from '../helpers/synthetic-profile';

const MS = 1_000_000; // nanoseconds

/**
 * A job's profile with known answers: 60 ms in the quadratic loop (two lines), 25 ms in a linear
 * helper, 15 ms in main itself, and 100 ms idle that must count for nobody.
 */
const KNOWN = syntheticProfile([
  { frames: ['quadratic@src/rerank.ts:57', 'main@src/job.ts:10'], value: 45 * MS },
  { frames: ['quadratic@src/rerank.ts:58', 'main@src/job.ts:10'], value: 15 * MS },
  { frames: ['linear@src/embed.ts:20', 'main@src/job.ts:11'], value: 25 * MS },
  { frames: ['main@src/job.ts:12'], value: 15 * MS },
  { frames: ['(idle)@:0'], value: 100 * MS },
]);

describe('rankHotspots', () => {
  it('ranks lines by self time in milliseconds, shares of busy time only, idle left out', () => {
    const ranked = rankHotspots(KNOWN, { top: 10 });
    expect(ranked.sampleType).toBe('wall');
    expect(ranked.unit).toBe('milliseconds');
    expect(ranked.totalValue).toBe(100);
    expect(ranked.hotspots.map(({ function: name, file, line, selfPercent }) => ({ name, file, line, selfPercent }))).toEqual([
      { name: 'quadratic', file: 'src/rerank.ts', line: 57, selfPercent: 45 },
      { name: 'linear', file: 'src/embed.ts', line: 20, selfPercent: 25 },
      { name: 'quadratic', file: 'src/rerank.ts', line: 58, selfPercent: 15 },
      { name: 'main', file: 'src/job.ts', line: 12, selfPercent: 15 },
    ]);
  });

  it('keeps the top N and maps files through resolveFile', () => {
    const ranked = rankHotspots(KNOWN, { top: 2, resolveFile: (file) => file.replace(/^src\//, 'lib/') });
    expect(ranked.hotspots.map((hotspot) => `${hotspot.function} ${hotspot.file}:${hotspot.line}`)).toEqual([
      'quadratic lib/rerank.ts:57',
      'linear lib/embed.ts:20',
    ]);
  });

  it('reads the same ranking back from gzipped and from plain .pprof bytes', async () => {
    const gzipped = await encode(KNOWN);
    expect(gzipped[0]).toBe(0x1f);
    expect(rankHotspots(decodeProfile(gzipped))).toEqual(rankHotspots(KNOWN));
    expect(rankHotspots(decodeProfile(KNOWN.encode()))).toEqual(rankHotspots(KNOWN));
  });

  it('reports 0% shares, not NaN, for a profile of nothing but idle time', () => {
    const ranked = rankHotspots(syntheticProfile([{ frames: ['(idle)@:0'], value: 5 * MS }]));
    expect(ranked).toMatchObject({ totalValue: 0, hotspots: [] });
  });
});

describe('renderFlameGraph', () => {
  it('draws each frame as wide as its share of all samples, callees under their callers', () => {
    const svg = renderFlameGraph(KNOWN, { width: 1200 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const frames = [...svg.matchAll(/<g><title>([^<]*)<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)].map((match) => ({
      title: match[1]!,
      y: Number(match[3]),
      width: Number(match[4]),
    }));
    const root = frames[0]!;
    expect(root.title).toMatch(/^all /);
    const widthOf = (name: string) => frames.filter((frame) => frame.title.startsWith(name)).reduce((sum, frame) => sum + frame.width, 0);
    // 200 ms of samples in all: quadratic 60 (30%), linear 25, idle 100.
    expect(widthOf('quadratic') / root.width).toBeCloseTo(0.3, 2);
    expect(widthOf('linear') / root.width).toBeCloseTo(0.125, 2);
    const main = frames.find((frame) => frame.title.startsWith('main'))!;
    const quadratic = frames.find((frame) => frame.title.startsWith('quadratic'))!;
    expect(quadratic.y).toBeGreaterThan(main.y);
    expect(svg.match(/<g>/g)!.length).toBe(svg.match(/<\/g>/g)!.length);
  });
});

/** Real CPU work with a known name, for the one end-to-end check on a live profile. */
function busyQuadraticForTest(size: number): number {
  let total = 0;
  for (let outer = 0; outer < size; outer++) {
    for (let inner = 0; inner < size; inner++) total += Math.sqrt(outer * inner + 1);
  }
  return total;
}

describe('a live @datadog/pprof wall profile', () => {
  it('names the function that did the work, with this file and a line inside it', async () => {
    time.start({ lineNumbers: true, intervalMicros: 1000 });
    // 150 ms of this process's CPU, not of wall time: on a loaded machine a wall-time window can
    // pass with the process hardly scheduled, and a handful of samples prove nothing.
    const cpuAtStart = process.cpuUsage();
    const cpuMs = () => {
      const used = process.cpuUsage(cpuAtStart);
      return (used.user + used.system) / 1000;
    };
    while (cpuMs() < 150) busyQuadraticForTest(600);
    const ranked = rankHotspots(time.stop(), { top: 10 });
    // Only the name and place are asserted: how much of the wall time it got depends on the machine's
    // load, and V8's own pseudo-frames (GC, tier-up) or the test runner can outrank it. Of this
    // file's frames, the one that did the work must come first, named with a line inside it.
    const top = ranked.hotspots.find((hotspot) => /hotspots\.test\.ts$/.test(hotspot.file));
    expect(top, JSON.stringify(ranked.hotspots)).toBeDefined();
    expect(top!.function).toBe('busyQuadraticForTest');
    expect(top!.line).toBeGreaterThan(0);
  });
});
