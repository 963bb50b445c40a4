import { describe, expect, it } from 'vitest';
import { loadConfig, redactUrl } from '../../src/config/config';
import { ConfigError } from '../../src/contracts/errors';

describe('loadConfig', () => {
  it('documents its defaults', () => {
    expect(loadConfig({})).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'bull',
      databaseUrl: undefined,
      databaseSchema: 'public',
      service: 'ragscope',
      env: undefined,
      version: undefined,
      tracingEnabled: true,
      agentUrl: 'http://127.0.0.1:8126',
      workerConcurrency: 2,
      plantBottleneck: false,
      redactUserIds: false,
      logQueries: false,
      jobAttempts: 3,
      lockMs: 30_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 3,
      logLevel: 'info',
      agentConfigured: false,
      metricsPort: undefined,
      server: { apiToken: undefined, adminUser: 'admin', adminPassword: undefined, boardWrite: false, bodyLimitBytes: 65536 },
      memory: { sampleIntervalMs: 3_600_000, workerId: undefined, forceGc: false, leakThresholdMbPerHour: 10, seriesMaxSamples: 168, alertUrl: undefined },
      profiling: {
        capturePct: 1,
        maxTimeUsagePct: 5,
        cpuEnabled: true,
        memoryEnabled: true,
        continuousEnabled: false,
        continuousExporter: 'file',
        uploadPeriodSeconds: 60,
        outputDir: '.ragscope/profiles',
        top: 5,
        slowJobMs: 2000,
      },
      sampling: { baseRate: 0.1, highVolumeRate: 0.01, highVolumeJobsPerHour: 10_000, pricePerMillionSpansUsd: 5, budgetAlertsUsd: [100, 200] },
    });
  });

  it('reads the profiling and sampling knobs, keeping the seed\'s DD_* names', () => {
    const config = loadConfig({
      DD_AGENT_HOST: 'agent',
      DD_PROFILING_CAPTURE_PCT: '2.5',
      DD_PROFILING_MAX_TIME_USAGE_PCT: '3',
      DD_PROFILING_CPU_ENABLED: 'false',
      DD_PROFILING_ENABLED: 'true',
      DD_TRACE_SAMPLE_RATE: '0.25',
      RAGSCOPE_BUDGET_ALERTS_USD: '500,50',
    });
    expect(config.agentConfigured).toBe(true);
    expect(config.profiling).toMatchObject({ capturePct: 2.5, maxTimeUsagePct: 3, cpuEnabled: false, continuousEnabled: true, continuousExporter: 'agent' });
    expect(config.sampling).toMatchObject({ baseRate: 0.25, budgetAlertsUsd: [50, 500] });
  });

  it('reads every variable it knows', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://cache:6380/2',
      RAGSCOPE_QUEUE_PREFIX: '{rag}',
      DATABASE_URL: 'postgres://u:p@db/rag',
      RAGSCOPE_DB_SCHEMA: 'rag_store',
      DD_SERVICE: 'rag-api',
      DD_ENV: 'prod',
      DD_VERSION: '1.2.3',
      DD_TRACE_ENABLED: 'false',
      RAGSCOPE_WORKER_CONCURRENCY: '8',
      RAGSCOPE_PLANT_BOTTLENECK: '1',
      RAGSCOPE_REDACT: 'yes',
      RAGSCOPE_JOB_ATTEMPTS: '5',
      RAGSCOPE_LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      redisUrl: 'redis://cache:6380/2',
      queuePrefix: '{rag}',
      databaseUrl: 'postgres://u:p@db/rag',
      databaseSchema: 'rag_store',
      service: 'rag-api',
      env: 'prod',
      version: '1.2.3',
      tracingEnabled: false,
      workerConcurrency: 8,
      plantBottleneck: true,
      redactUserIds: true,
      jobAttempts: 5,
      logLevel: 'debug',
    });
  });

  it.each([
    [{ DD_TRACE_AGENT_URL: 'http://agent:8126/' }, 'http://agent:8126'],
    [{ DD_AGENT_HOST: 'dd-agent' }, 'http://dd-agent:8126'],
    [{ DD_AGENT_HOST: 'dd-agent', DD_TRACE_AGENT_PORT: '9126' }, 'http://dd-agent:9126'],
    [{ DD_AGENT_HOST: '::1' }, 'http://[::1]:8126'],
    [{ DD_TRACE_AGENT_URL: 'http://a:1', DD_AGENT_HOST: 'b' }, 'http://a:1'],
  ])('resolves the agent URL from %j', (env, expected) => {
    expect(loadConfig(env).agentUrl).toBe(expected);
  });

  it.each([
    ['REDIS_URL', 'localhost:6379', 'redis://'],
    ['DATABASE_URL', 'mysql://x', 'postgres://'],
    ['RAGSCOPE_WORKER_CONCURRENCY', '0', 'at least 1'],
    ['RAGSCOPE_WORKER_CONCURRENCY', 'two', 'whole number'],
    ['RAGSCOPE_JOB_ATTEMPTS', '100', 'at most 20'],
    ['DD_TRACE_AGENT_PORT', '70000', 'at most 65535'],
    ['DD_TRACE_ENABLED', 'maybe', 'expected one of'],
    ['RAGSCOPE_DB_SCHEMA', 'Robert"); DROP', 'SQL identifier'],
    ['RAGSCOPE_LOG_LEVEL', 'verbose', 'RAGSCOPE_LOG_LEVEL'],
    ['DD_TRACE_AGENT_URL', 'agent:8126', 'http://'],
    ['DD_TRACE_SAMPLE_RATE', '1.5', 'at most 1'],
    ['DD_PROFILING_CAPTURE_PCT', 'lots', 'expected a number'],
    ['DD_PROFILING_EXPORTERS', 'otlp', 'agent or file'],
    ['RAGSCOPE_BUDGET_ALERTS_USD', '100;200', 'comma-separated'],
  ])('rejects %s=%s with a message naming the variable', (name, value, fragment) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(fragment);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ REDIS_URL: 'nope', RAGSCOPE_JOB_ATTEMPTS: '-1' })).toThrow(/REDIS_URL[\s\S]*RAGSCOPE_JOB_ATTEMPTS/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ REDIS_URL: '', RAGSCOPE_WORKER_CONCURRENCY: '  ' }).workerConcurrency).toBe(2);
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/rag')).toBe('postgres://app:***@db:5432/rag');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
