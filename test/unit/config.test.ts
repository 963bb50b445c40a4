import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS, describeRedisTarget, loadConfig, redactUrl } from '../../src/config/config';
import { hashTagOf } from '../../src/config/redis-target';
import { renderEnvExample } from '../../src/config/env-example';
import { listSettings } from '../../src/config/setting';
import { settings } from '../../src/config/settings';
import { ConfigError } from '../../src/contracts/errors';

describe('loadConfig', () => {
  it('documents its defaults', () => {
    expect(loadConfig({})).toEqual({
      redis: { kind: 'single', url: 'redis://127.0.0.1:6379' },
      redisCommandTimeoutMs: 5000,
      enqueueWaitReplicas: 0,
      enqueueWaitMs: 1000,
      maxWaiting: 5000,
      queuePrefix: 'bull',
      databaseUrl: undefined,
      databaseSchema: 'public',
      service: 'ragscope',
      env: undefined,
      version: undefined,
      tracingEnabled: true,
      traces: { exporter: 'datadog', otlpTracesUrl: 'http://localhost:4318/v1/traces' },
      agent: { url: undefined, host: undefined, port: 8126 },
      agentUrl: 'http://127.0.0.1:8126',
      workerConcurrency: 2,
      workerHeartbeatSeconds: 10,
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
      metricsHost: '127.0.0.1',
      server: { apiToken: undefined, adminUser: 'admin', adminPassword: undefined, boardWrite: false, rateLimitMax: 3000, rateLimitWindowSeconds: 60, bodyLimitBytes: 65536 },
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
        planIntervalSeconds: 600,
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
      redis: { kind: 'single', url: 'redis://cache:6380/2' },
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
    ['RAGSCOPE_MAX_WAITING', '-1', 'whole number'],
    ['RAGSCOPE_WORKER_HEARTBEAT_SECONDS', '0', 'at least 1'],
    ['RAGSCOPE_RATE_LIMIT_MAX', 'lots', 'whole number'],
    ['RAGSCOPE_RATE_LIMIT_WINDOW_SECONDS', '0', 'at least 1'],
    ['DD_TRACE_AGENT_PORT', '70000', 'at most 65535'],
    ['DD_TRACE_ENABLED', 'maybe', 'expected one of'],
    ['RAGSCOPE_DB_SCHEMA', 'Robert"); DROP', 'SQL identifier'],
    ['RAGSCOPE_LOG_LEVEL', 'verbose', 'RAGSCOPE_LOG_LEVEL'],
    ['DD_TRACE_AGENT_URL', 'agent:8126', 'http://'],
    ['DD_TRACE_SAMPLE_RATE', '1.5', 'at most 1'],
    ['DD_PROFILING_CAPTURE_PCT', 'lots', 'expected a number'],
    ['DD_PROFILING_EXPORTERS', 'otlp', 'agent or file'],
    ['RAGSCOPE_BUDGET_ALERTS_USD', '100;200', 'comma-separated'],
    ['RAGSCOPE_TRACES_EXPORTER', 'jaeger', 'datadog or otlp'],
    ['OTEL_TRACES_EXPORTER', 'zipkin', 'otlp or none'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/json', 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', 'http://'],
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

  it.each([
    [{}, { tracingEnabled: true, traces: { exporter: 'datadog', otlpTracesUrl: 'http://localhost:4318/v1/traces' } }],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, { tracingEnabled: true, traces: { exporter: 'otlp', otlpTracesUrl: 'http://localhost:4318/v1/traces' } }],
    [{ OTEL_TRACES_EXPORTER: 'OTLP', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318/' }, { traces: { exporter: 'otlp', otlpTracesUrl: 'http://tempo:4318/v1/traces' } }],
    [
      { RAGSCOPE_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
      { traces: { exporter: 'otlp', otlpTracesUrl: 'http://b:9999/custom' } },
    ],
    [{ RAGSCOPE_TRACES_EXPORTER: 'otlp', OTEL_TRACES_EXPORTER: 'none' }, { tracingEnabled: false, traces: { exporter: 'otlp' } }],
    [{ OTEL_TRACES_EXPORTER: 'none' }, { tracingEnabled: false, traces: { exporter: 'datadog' } }],
    [{ OTEL_TRACES_EXPORTER: 'none', DD_TRACE_ENABLED: 'true' }, { tracingEnabled: true }],
    [{ RAGSCOPE_TRACES_EXPORTER: 'datadog' }, { traces: { exporter: 'datadog' } }],
  ])('chooses the trace exporter from %j', (env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  it('refuses RAGSCOPE_TRACES_EXPORTER=datadog beside OTEL_TRACES_EXPORTER=otlp, which would turn dd-trace to OTLP', () => {
    expect(() => loadConfig({ RAGSCOPE_TRACES_EXPORTER: 'datadog', OTEL_TRACES_EXPORTER: 'otlp' })).toThrow(
      /conflicts with OTEL_TRACES_EXPORTER=otlp/,
    );
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ REDIS_URL: 'nope', RAGSCOPE_JOB_ATTEMPTS: '-1' })).toThrow(/REDIS_URL[\s\S]*RAGSCOPE_JOB_ATTEMPTS/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ REDIS_URL: '', RAGSCOPE_WORKER_CONCURRENCY: '  ' }).workerConcurrency).toBe(2);
  });
});

describe('config errors and secrets', () => {
  it.each([
    ['RAGSCOPE_ADMIN_PASSWORD', 'hunter2pw', /RAGSCOPE_ADMIN_PASSWORD \(value not shown: it is a secret\): must be at least 12 characters/, 'hunter2pw'],
    ['RAGSCOPE_API_TOKEN', 'short-token', /RAGSCOPE_API_TOKEN \(value not shown: it is a secret\): must be at least 16 characters/, 'short-token'],
    ['RAGSCOPE_ALERT_URL', 'ftp://hooks/T0/B0/s3cretpath', /RAGSCOPE_ALERT_URL \(value not shown: it is a secret\): expected an http:\/\/ URL/, 's3cretpath'],
    ['REDIS_URL', 'http://user:s3cretpw@redis:6379', /REDIS_URL="http:\/\/user:\*\*\*@redis:6379": expected a redis:\/\//, 's3cretpw'],
    ['DATABASE_URL', 'mysql://app:s3cretpw@db/rag', /DATABASE_URL="mysql:\/\/app:\*\*\*@db\/rag": expected a postgres:\/\//, 's3cretpw'],
  ])('%s: names the variable and the rule, never the secret', (name, value, message, secret) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toMatch(message);
    expect((thrown as ConfigError).message).not.toContain(secret);
  });

  it('every setting that holds a credential is marked sensitive', () => {
    const credentials = listSettings(settings).filter((setting) => /TOKEN|PASSWORD|_URL$|_ENDPOINT$|SECRET|KEY$/.test(setting.env));
    expect(credentials.map((setting) => [setting.env, setting.sensitive !== undefined])).toEqual(credentials.map((setting) => [setting.env, true]));
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/rag')).toBe('postgres://app:***@db:5432/rag');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('the settings table', () => {
  const rows = listSettings(settings);

  it('names each variable once', () => {
    const names = rows.map((row) => row.env);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it.each(rows.map((row) => [row.env, row]))('documents %s in one line and shows a value for it', (_name, row) => {
    expect(row.doc.length).toBeGreaterThan(0);
    expect(row.doc).not.toContain('\n');
    expect(row.default ?? row.example).toBeDefined();
  });

  it.each(rows.filter((row) => row.example !== undefined).map((row) => [row.env, row.example!, row] as const))(
    'accepts the example of %s (%s)',
    (_name, example, row) => {
      expect(row.schema.safeParse(example).success).toBe(true);
    },
  );

  it('derives the defaults from the table: an empty environment and .env.example as written resolve alike', () => {
    const fromFile = Object.fromEntries(
      readFileSync(path.join(__dirname, '../../.env.example'), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(loadConfig(fromFile)).toEqual(DEFAULTS);
  });

  it('is what .env.example says (run `npm run config:env-example` after editing src/config/settings.ts)', () => {
    const written = readFileSync(path.join(__dirname, '../../.env.example'), 'utf8');
    expect(written, '.env.example is out of date: run `npm run config:env-example`').toBe(renderEnvExample(settings));
  });
});

describe('Redis topology settings', () => {
  const sentinels = [{ host: '10.0.0.1', port: 26379 }, { host: 's2', port: 26380 }, { host: '::1', port: 26381 }];

  it.each<[string, Record<string, string>, object]>([
    ['one server by default', {}, { kind: 'single', url: 'redis://127.0.0.1:6379' }],
    ['one TLS server with a password', { REDIS_URL: 'rediss://:s3cret@cache:6380' }, { kind: 'single', url: 'rediss://:s3cret@cache:6380' }],
    [
      'Sentinel',
      { REDIS_SENTINELS: '10.0.0.1:26379, s2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_PASSWORD: 'rp' },
      { kind: 'sentinel', sentinels, name: 'mymaster', sentinelPassword: 'sp', password: 'rp', tls: false },
    ],
    [
      'Cluster with TLS and an ACL user',
      { REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_USERNAME: 'rag', REDIS_PASSWORD: 'rp', REDIS_TLS: 'true' },
      { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], username: 'rag', password: 'rp', tls: true },
    ],
  ])('%s', (_label, env, expected) => {
    expect(loadConfig(env).redis).toEqual(expected);
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['URL and Sentinel', { REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm' }, ['REDIS_URL and REDIS_SENTINELS are set together']],
    ['Sentinel and Cluster', { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'b:7000' }, ['REDIS_SENTINELS and REDIS_CLUSTER_NODES']],
    ['all three', { REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'b:7000' }, ['REDIS_URL and REDIS_SENTINELS and REDIS_CLUSTER_NODES']],
    ['Sentinel without its name', { REDIS_SENTINELS: 'a:26379' }, ['REDIS_SENTINELS is set without REDIS_SENTINEL_NAME']],
    ['a name without sentinels', { REDIS_SENTINEL_NAME: 'm' }, ['REDIS_SENTINEL_NAME is set without REDIS_SENTINELS']],
    ['a password beside REDIS_URL', { REDIS_URL: 'redis://a:1', REDIS_PASSWORD: 'x' }, ['REDIS_PASSWORD', 'in the URL']],
    ['TLS beside REDIS_URL', { REDIS_TLS: '1' }, ['REDIS_TLS', 'rediss://']],
    ['a malformed node list', { REDIS_CLUSTER_NODES: 'n1,n2' }, ['REDIS_CLUSTER_NODES', 'host:port']],
    ['a port out of range', { REDIS_SENTINELS: 'a:99999', REDIS_SENTINEL_NAME: 'm' }, ['REDIS_SENTINELS', '1-65535']],
    ['WAIT on a Cluster', { REDIS_CLUSTER_NODES: 'n1:7000', RAGSCOPE_ENQUEUE_WAIT_REPLICAS: '1' }, ['RAGSCOPE_ENQUEUE_WAIT_REPLICAS applies to one server or Sentinel']],
    ['a Cluster prefix without a hash tag', { REDIS_CLUSTER_NODES: 'n1:7000', RAGSCOPE_QUEUE_PREFIX: 'rag' }, ['RAGSCOPE_QUEUE_PREFIX="rag"', 'use RAGSCOPE_QUEUE_PREFIX={rag}']],
  ])('refuses %s at start-up, naming the variables', (_label, env, fragments) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
  });

  it.each([
    [{}, 'bull'],
    [{ REDIS_CLUSTER_NODES: 'n1:7000' }, '{bull}'],
    [{ REDIS_CLUSTER_NODES: 'n1:7000', RAGSCOPE_QUEUE_PREFIX: 'bull' }, '{bull}'],
    [{ REDIS_CLUSTER_NODES: 'n1:7000', RAGSCOPE_QUEUE_PREFIX: '{rag}' }, '{rag}'],
    [{ REDIS_CLUSTER_NODES: 'n1:7000', RAGSCOPE_QUEUE_PREFIX: 'tenant-{a}' }, 'tenant-{a}'],
    [{ RAGSCOPE_QUEUE_PREFIX: 'rag' }, 'rag'],
  ])('uses the queue prefix %j → %s', (env, prefix) => {
    expect(loadConfig(env).queuePrefix).toBe(prefix);
  });

  it.each([
    ['{bull}:rag-query:wait', 'bull'],
    ['bull:{rag}:x', 'rag'],
    ['{}bull', undefined],
    ['bull', undefined],
    ['{a}{b}', 'a'],
  ])('hashes %s on the tag %s, as Redis does', (key, tag) => {
    expect(hashTagOf(key)).toBe(tag);
  });

  it.each([
    [{ REDIS_URL: 'rediss://app:s3cret@cache:6380' }, 'rediss://app:***@cache:6380'],
    [{ REDIS_SENTINELS: 'a:26379,b:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_PASSWORD: 'rp' }, 'Sentinel master "mymaster" via a:26379,b:26379'],
    [{ REDIS_CLUSTER_NODES: 'n1:7000,[::1]:7001', REDIS_PASSWORD: 'rp', REDIS_TLS: 'yes' }, 'Cluster via n1:7000,[::1]:7001 (TLS)'],
  ])('describes %j without a password', (env, description) => {
    expect(describeRedisTarget(loadConfig(env).redis)).toBe(description);
  });
});
