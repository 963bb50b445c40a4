import { encode, time } from '@datadog/pprof';
import { describe, expect, it } from 'vitest';
import { decodeProfile, rankHotspots } from '../../src/telemetry/profiling/hotspots';
import { renderFlameGraph } from '../../src/telemetry/profiling/flamegraph';

/** Real CPU work with a known name, for a profile this test records itself. */
function busyQuadraticForTest(size: number): number {
  let total = 0;
  for (let outer = 0; outer < size; outer++) {
    for (let inner = 0; inner < size; inner++) total += Math.sqrt(outer * inner + 1);
  }
  return total;
}

function lightLinearForTest(size: number): number {
  let total = 0;
  for (let index = 0; index < size; index++) total += index;
  return total;
}

async function recordProfile() {
  time.start({ lineNumbers: true, intervalMicros: 1000 });
  const deadline = Date.now() + 150;
  while (Date.now() < deadline) {
    busyQuadraticForTest(600);
    lightLinearForTest(1000);
  }
  // Idle wall time: must not count as anybody's hotspot.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return time.stop();
}

describe('rankHotspots on a recorded profile', () => {
  it('ranks the busiest function first, with a line and a share of busy time', async () => {
    const profile = await recordProfile();
    const ranked = rankHotspots(profile, { top: 3 });
    expect(ranked.sampleType).toBe('wall');
    expect(ranked.unit).toBe('milliseconds');
    expect(ranked.hotspots[0]!.function).toBe('busyQuadraticForTest');
    expect(ranked.hotspots[0]!.file).toMatch(/hotspots\.test\.ts$/);
    expect(ranked.hotspots[0]!.line).toBeGreaterThan(0);
    expect(ranked.hotspots[0]!.selfPercent).toBeGreaterThan(50);
    expect(ranked.hotspots.map((hotspot) => hotspot.function)).not.toContain('(idle)');
    expect(ranked.hotspots).toHaveLength(3);
    const shares = ranked.hotspots.map((hotspot) => hotspot.selfPercent);
    expect([...shares].sort((left, right) => right - left)).toEqual(shares);
  });

  it('reads the same ranking back from the gzipped .pprof bytes', async () => {
    const profile = await recordProfile();
    const bytes = await encode(profile);
    expect(bytes[0]).toBe(0x1f);
    const fromFile = rankHotspots(decodeProfile(bytes));
    expect(fromFile).toEqual(rankHotspots(profile));
    // Plain (not gzipped) protobuf is accepted too.
    expect(rankHotspots(decodeProfile(profile.encode()))).toEqual(fromFile);
  });

  it('renders a flame graph SVG with the hot function as a frame', async () => {
    const profile = await recordProfile();
    const svg = renderFlameGraph(profile);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const frames = [...svg.matchAll(/<g><title>([^<]*)<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)];
    expect(frames.length).toBeGreaterThan(3);
    const root = frames[0]!;
    expect(root[1]).toMatch(/^all /);
    expect(Number(root[4])).toBeCloseTo(1200, 0);
    const hot = frames.find((frame) => frame[1]!.startsWith('busyQuadraticForTest'));
    expect(hot).toBeDefined();
    expect(Number(hot![4])).toBeGreaterThan(1200 * 0.3);
    // Every tag opened is closed: the file is well-formed enough for a browser.
    expect(svg.match(/<g>/g)!.length).toBe(svg.match(/<\/g>/g)!.length);
  });
});
