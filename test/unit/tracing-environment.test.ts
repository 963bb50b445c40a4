import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { continuousProfilerEnvironment, initTracing } from '../../src/telemetry/tracing';

const profileDir = mkdtempSync(path.join(tmpdir(), 'ragscope-tracing-env-'));
afterAll(() => rmSync(profileDir, { recursive: true, force: true }));

describe('continuousProfilerEnvironment', () => {
  const base = { DD_PROFILING_ENABLED: 'true', RAGSCOPE_PROFILE_DIR: profileDir };

  it.each([
    [{}, { DD_PROFILING_PROFILERS: 'wall,space', DD_PROFILING_EXPORTERS: 'file', DD_PROFILING_UPLOAD_PERIOD: '60' }],
    [{ DD_PROFILING_MEMORY_ENABLED: 'false' }, { DD_PROFILING_PROFILERS: 'wall' }],
    [{ DD_AGENT_HOST: 'agent' }, { DD_PROFILING_EXPORTERS: 'agent' }],
    [{ DD_PROFILING_UPLOAD_PERIOD: '5' }, { DD_PROFILING_UPLOAD_PERIOD: '5' }],
  ])('with %j gives dd-trace %j', (env, expected) => {
    expect(continuousProfilerEnvironment(loadConfig({ ...base, ...env }), {})).toMatchObject({
      ...expected,
      DD_PROFILING_PPROF_PREFIX: `${profileDir}/continuous-`,
    });
  });

  it('leaves variables the user set alone, and adds nothing when the profiler is off', () => {
    const config = loadConfig(base);
    expect(continuousProfilerEnvironment(config, { DD_PROFILING_PROFILERS: 'space' })).not.toHaveProperty('DD_PROFILING_PROFILERS');
    expect(continuousProfilerEnvironment(loadConfig({}), {})).toEqual({});
  });
});

describe('initTracing', () => {
  it('starts dd-trace and its continuous profiler without writing to process.env, so a second loadConfig agrees', () => {
    Object.assign(process.env, {
      DD_TRACE_SAMPLE_RATE: '0.25',
      DD_PROFILING_ENABLED: 'true',
      RAGSCOPE_PROFILE_DIR: profileDir,
      DD_TRACE_AGENT_URL: 'http://127.0.0.1:9',
    });
    const before = { ...process.env };
    const first = loadConfig();
    initTracing(first);
    expect({ ...process.env }).toEqual(before);
    expect(loadConfig()).toEqual(first);
    expect(first.sampling.baseRate).toBe(0.25);
  });
});
