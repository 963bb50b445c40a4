import { z } from 'zod';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, hostPortList } from './redis-target';
import { optionalSetting, setting } from './setting';

/*
 * Every knob ragscope has, once: variable, parser, default, one line of documentation. DD_* names are
 * used where Datadog has one (so a dd-trace user's existing settings keep working); ragscope's own
 * knobs are RAGSCOPE_*. The tree's shape is the shape of the config object (config.ts adds the few
 * values computed from several knobs); its order is `.env.example`'s order. After editing, run
 * `npm run config:env-example` (a unit test fails while `.env.example` is out of date).
 */

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''], {
    message: 'expected one of 1, 0, true, false, yes, no, on, off',
  })
  .transform((value) => ['1', 'true', 'yes', 'on'].includes(value));

const redisUrl = z.string().regex(/^rediss?:\/\/.+/, { message: 'expected a redis:// or rediss:// URL' });

const httpUrl = z.string().regex(/^https?:\/\/[^/\s]+/, { message: 'expected an http:// URL' });

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/.+/, { message: 'expected a postgres:// or postgresql:// URL' });

const sqlIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'expected a lower-case SQL identifier' });

const otlpProtocol = z.literal('http/protobuf', {
  message: 'ragscope sends OTLP over HTTP with protobuf: expected http/protobuf (grpc and http/json are not supported)',
});

function numberIn(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, { message: 'expected a number' })
    .transform(Number)
    .pipe(z.number().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));
}

function integerIn(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, { message: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));
}

const HOUR_MS = 3_600_000;

export const settings = {
  /** Inputs of `redis` (config.ts): one server, Sentinel, or Cluster; at most one of the three. */
  redis: {
    url: optionalSetting({
      env: 'REDIS_URL',
      sensitive: 'url',
      schema: redisUrl,
      example: DEFAULT_REDIS_URL,
      heading: 'Redis holding the BullMQ queues (the one required service): REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, at most one.',
      doc: `One Redis server (default ${DEFAULT_REDIS_URL}): redis:// or rediss:// (TLS); a password in the URL never appears in logs.`,
    }),
    sentinels: optionalSetting({
      env: 'REDIS_SENTINELS',
      schema: hostPortList,
      example: '10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379',
      doc: 'Redis Sentinel: the sentinels, host:port comma-separated; every process follows the primary they name after a failover.',
    }),
    sentinelName: optionalSetting({
      env: 'REDIS_SENTINEL_NAME',
      schema: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, { message: 'expected 1-128 letters, digits or _ . -' }),
      example: 'mymaster',
      doc: 'The master group name the sentinels monitor (required with REDIS_SENTINELS).',
    }),
    sentinelPassword: optionalSetting({
      env: 'REDIS_SENTINEL_PASSWORD',
      sensitive: 'secret',
      schema: z.string().min(1),
      example: 'sentinel-password',
      doc: 'The sentinels\' own password (requirepass in sentinel.conf), if they have one.',
    }),
    clusterNodes: optionalSetting({
      env: 'REDIS_CLUSTER_NODES',
      schema: hostPortList,
      example: '10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379',
      doc: 'Redis Cluster: seed nodes, host:port comma-separated; the queue prefix must then be a hash tag ({bull} by default).',
    }),
    username: optionalSetting({
      env: 'REDIS_USERNAME',
      schema: z.string().min(1),
      example: 'ragscope',
      doc: 'ACL user of the Redis servers behind Sentinel or Cluster (with REDIS_URL it goes in the URL).',
    }),
    password: optionalSetting({
      env: 'REDIS_PASSWORD',
      sensitive: 'secret',
      schema: z.string().min(1),
      example: 'redis-password',
      doc: 'Password of the Redis servers behind Sentinel or Cluster (with REDIS_URL it goes in the URL).',
    }),
    tls: setting({
      env: 'REDIS_TLS',
      schema: booleanFlag,
      default: 'false',
      doc: 'TLS to the Redis servers (and sentinels) of Sentinel or Cluster (with REDIS_URL use rediss://).',
    }),
  },
  redisCommandTimeoutMs: setting({
    env: 'RAGSCOPE_REDIS_COMMAND_TIMEOUT_MS',
    schema: integerIn(100, 600_000),
    default: '5000',
    doc: 'A producer command (enqueue, job status) Redis has not answered by then fails: the HTTP API answers 503. A stopped Redis is answered 503 at once, without waiting.',
  }),
  enqueueWaitReplicas: setting({
    env: 'RAGSCOPE_ENQUEUE_WAIT_REPLICAS',
    schema: integerIn(0, 16),
    default: '0',
    doc: 'An enqueue is acknowledged only once this many replicas have it (Redis WAIT); with Sentinel, 1 means a failover loses no acknowledged job. One server or Sentinel only.',
  }),
  enqueueWaitMs: setting({
    env: 'RAGSCOPE_ENQUEUE_WAIT_MS',
    schema: integerIn(10, 60_000),
    default: '1000',
    doc: 'How long (ms) an enqueue waits for those replicas before it fails with a retryable error.',
  }),
  maxWaiting: setting({
    env: 'RAGSCOPE_MAX_WAITING',
    schema: integerIn(0, 10_000_000),
    default: '5000',
    doc: 'Backpressure: with this many jobs waiting in a queue, enqueues are refused (HTTP 429 with Retry-After, CLI exit 75) and nothing is added; 0 = no cap. 5000 ≈ 4.5 MB of Redis and ~20 s of work for one worker on a 2-core host (measured, README).',
  }),
  queuePrefix: setting({
    env: 'RAGSCOPE_QUEUE_PREFIX',
    schema: z.string().regex(/^[A-Za-z0-9_{}:.-]{1,64}$/, {
      message: 'expected 1-64 characters of letters, digits, _ { } : . -',
    }),
    default: DEFAULT_QUEUE_PREFIX,
    doc: 'BullMQ key prefix; `bull` is BullMQ\'s default, so Bull Board and plain BullMQ scripts see the queues. On a Cluster `bull` becomes `{bull}`.',
  }),

  databaseUrl: optionalSetting({
    env: 'DATABASE_URL',
    sensitive: 'url',
    schema: postgresUrl,
    example: 'postgres://user:password@127.0.0.1:5432/ragscope',
    heading: 'The document store.',
    doc: 'A real PostgreSQL server; unset = embedded PGlite, loaded at start-up.',
  }),
  databaseSchema: setting({
    env: 'RAGSCOPE_DB_SCHEMA',
    schema: sqlIdentifier,
    default: 'public',
    doc: 'Schema holding the `documents` table, so several stores can share one database.',
  }),
  explainRole: optionalSetting({
    env: 'RAGSCOPE_EXPLAIN_ROLE',
    schema: sqlIdentifier,
    example: 'ragscope_explain',
    doc: 'Role `explain` (and the plans of profiled jobs) run under, by SET LOCAL ROLE: NOLOGIN, no superuser, SELECT only. `ragscope db explain-role --create` makes it. Unset = the connecting user.',
  }),

  service: setting({
    env: 'DD_SERVICE',
    schema: z.string().min(1).max(100),
    default: 'ragscope',
    heading: 'Tracing (dd-trace through its OpenTelemetry bridge).',
    doc: 'Service name on every span.',
  }),
  env: optionalSetting({ env: 'DD_ENV', schema: z.string().max(100), example: 'production', doc: 'Environment tag on every span.' }),
  version: optionalSetting({ env: 'DD_VERSION', schema: z.string().max(100), example: '1.2.3', doc: 'Version tag on every span.' }),
  // No default here: unset means true unless OTEL_TRACES_EXPORTER=none, as in dd-trace (config.ts).
  tracingEnabled: optionalSetting({
    env: 'DD_TRACE_ENABLED',
    schema: booleanFlag,
    example: 'true',
    doc: 'Record and send spans (default true; false when OTEL_TRACES_EXPORTER=none, as in dd-trace).',
  }),
  /** Inputs of `agentUrl` and `agentConfigured` (config.ts): dd-trace's own three variables. */
  agent: {
    url: optionalSetting({
      env: 'DD_TRACE_AGENT_URL',
      sensitive: 'url',
      schema: httpUrl,
      example: 'http://127.0.0.1:8126',
      doc: 'Where spans go: a Datadog agent, or `ragscope intake` on the same address; wins over host + port.',
    }),
    host: optionalSetting({
      env: 'DD_AGENT_HOST',
      schema: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, { message: 'expected a host name or address' }),
      example: '127.0.0.1',
      doc: 'Agent host (default 127.0.0.1); setting it or the URL says an agent is really there.',
    }),
    port: setting({ env: 'DD_TRACE_AGENT_PORT', schema: integerIn(1, 65535), default: '8126', doc: 'Agent port.' }),
  },
  /** Inputs of `traces` (config.ts): which exporter, and the standard OTLP exporter variables. */
  traces: {
    exporter: optionalSetting({
      env: 'RAGSCOPE_TRACES_EXPORTER',
      schema: z.enum(['datadog', 'otlp'], { message: 'expected datadog or otlp' }),
      example: 'otlp',
      heading: 'Where spans go: dd-trace (Datadog agent or `ragscope intake`), or OTLP to a collector, Tempo or Jaeger.',
      doc: '`datadog` (default) or `otlp` (OpenTelemetry SDK, OTLP/HTTP protobuf); wins over OTEL_TRACES_EXPORTER.',
    }),
    // dd-trace reads this name too and accepts the same two values, so ragscope honours it alike.
    otelExporter: optionalSetting({
      env: 'OTEL_TRACES_EXPORTER',
      schema: z
        .string()
        .transform((value) => value.toLowerCase())
        .pipe(z.enum(['otlp', 'none'], { message: 'expected otlp or none (ragscope exports traces over OTLP or not at all)' })),
      example: 'otlp',
      doc: '`otlp` selects OTLP as for any OpenTelemetry SDK; `none` turns tracing off.',
    }),
    endpoint: setting({
      env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      sensitive: 'url',
      schema: httpUrl,
      default: 'http://localhost:4318',
      doc: 'OTLP/HTTP base URL; spans go to <endpoint>/v1/traces.',
    }),
    tracesEndpoint: optionalSetting({
      env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      sensitive: 'url',
      schema: httpUrl,
      example: 'http://localhost:4318/v1/traces',
      doc: 'Full OTLP traces URL, used as given; wins over the base endpoint.',
    }),
    // The SDK's protobuf exporter is the one ragscope ships: grpc and http/json are refused at
    // start-up rather than sent as protobuf to an endpoint that expects something else.
    protocol: setting({ env: 'OTEL_EXPORTER_OTLP_PROTOCOL', schema: otlpProtocol, default: 'http/protobuf', doc: 'OTLP protocol: http/protobuf only.' }),
    tracesProtocol: optionalSetting({
      env: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
      schema: otlpProtocol,
      example: 'http/protobuf',
      doc: 'OTLP protocol for traces: http/protobuf only. Headers, timeout and compression: the standard OTEL_EXPORTER_OTLP_* variables.',
    }),
  },

  workerConcurrency: setting({
    env: 'RAGSCOPE_WORKER_CONCURRENCY',
    schema: integerIn(1, 64),
    default: '2',
    heading: 'Workers.',
    doc: 'Jobs at once per worker process.',
  }),
  jobAttempts: setting({
    env: 'RAGSCOPE_JOB_ATTEMPTS',
    schema: integerIn(1, 20),
    default: '3',
    doc: 'Attempts for a transiently failing job (invalid data is never retried).',
  }),
  // BullMQ's own defaults, except stalls: a crash-looping host should not fail a job at its first death.
  lockMs: setting({
    env: 'RAGSCOPE_LOCK_MS',
    schema: integerIn(500, HOUR_MS),
    default: '30000',
    doc: 'BullMQ lock (ms): a job whose worker stops renewing it this long is stalled.',
  }),
  stalledIntervalMs: setting({
    env: 'RAGSCOPE_STALLED_INTERVAL_MS',
    schema: integerIn(500, HOUR_MS),
    default: '30000',
    doc: 'How often (ms) workers look for stalled jobs to put back in the queue.',
  }),
  maxStalledCount: setting({
    env: 'RAGSCOPE_MAX_STALLED_COUNT',
    schema: integerIn(0, 1000),
    default: '3',
    doc: 'Stalls (worker deaths mid-job) a job survives before it fails.',
  }),
  workerHeartbeatSeconds: setting({
    env: 'RAGSCOPE_WORKER_HEARTBEAT_SECONDS',
    schema: integerIn(1, 3600),
    default: '10',
    doc: 'A worker renews its liveness key in Redis this often (and at once after a reconnect); it counts as live (/health, heap sampling) until 3 beats are missed.',
  }),
  pipeline: optionalSetting({
    env: 'RAGSCOPE_PIPELINE',
    schema: z.string().trim().min(1, { message: 'must be the path of a pipeline module' }),
    example: './dist/pipeline.js',
    doc: 'Pipeline module `ragscope worker` runs (compiled JavaScript exporting definePipeline()); `--pipeline` wins; unset = the sample pipeline.',
  }),
  plantBottleneck: setting({
    env: 'RAGSCOPE_PLANT_BOTTLENECK',
    schema: booleanFlag,
    default: 'false',
    doc: 'Rerank every job with the planted O(n^2) function (a profiler target), not only jobs that ask for it.',
  }),
  redactUserIds: setting({ env: 'RAGSCOPE_REDACT', schema: booleanFlag, default: 'false', doc: 'Hash user ids before they become span tags.' }),
  logLevel: setting({
    env: 'RAGSCOPE_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'fatal | error | warn | info | debug | trace | silent',
  }),
  logQueries: setting({
    env: 'RAGSCOPE_LOG_QUERIES',
    schema: booleanFlag,
    default: 'false',
    doc: 'Query text and user ids may appear in logs (off: they never do).',
  }),
  metricsPort: optionalSetting({
    env: 'RAGSCOPE_METRICS_PORT',
    schema: integerIn(1, 65535),
    example: '9464',
    doc: 'A worker\'s or scheduler\'s own Prometheus /metrics (unset = none).',
  }),
  metricsHost: setting({
    env: 'RAGSCOPE_METRICS_HOST',
    schema: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, { message: 'expected a host name or address' }),
    default: '127.0.0.1',
    doc: 'Address that /metrics binds; 0.0.0.0 lets a Prometheus in another container or host scrape it.',
  }),

  sampling: {
    baseRate: setting({
      env: 'DD_TRACE_SAMPLE_RATE',
      schema: numberIn(0, 1),
      default: '0.1',
      heading: 'Trace sampling, applied by ragscope where a trace starts (dd-trace keeps what ragscope records).',
      doc: 'Share of traces kept at normal volume.',
    }),
    highVolumeRate: setting({
      env: 'RAGSCOPE_TRACE_SAMPLE_RATE_HIGH_VOLUME',
      schema: numberIn(0, 1),
      default: '0.01',
      doc: 'Share kept once the observed rate (last hour, in Redis) passes the next knob.',
    }),
    highVolumeJobsPerHour: setting({
      env: 'RAGSCOPE_HIGH_VOLUME_JOBS_PER_HOUR',
      schema: integerIn(1, 1_000_000_000),
      default: '10000',
      doc: 'Jobs per hour above which the high-volume rate applies.',
    }),
    pricePerMillionSpansUsd: setting({
      env: 'RAGSCOPE_SPAN_PRICE_PER_MILLION_USD',
      schema: numberIn(0, 1_000_000),
      default: '5',
      doc: 'Cost estimate (`ragscope cost`): price per million spans.',
    }),
    budgetAlertsUsd: setting({
      env: 'RAGSCOPE_BUDGET_ALERTS_USD',
      schema: z
        .string()
        .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, { message: 'expected comma-separated amounts, e.g. 100,200' })
        .transform((value) => value.split(',').map(Number).sort((left, right) => left - right)),
      default: '100,200',
      doc: 'Monthly budget alert thresholds in USD (sorted ascending).',
    }),
  },

  profiling: {
    capturePct: setting({
      env: 'DD_PROFILING_CAPTURE_PCT',
      schema: numberIn(0, 100),
      default: '1',
      heading: 'Per-job CPU profiles (@datadog/pprof).',
      doc: 'Share of `profile: auto` jobs given a CPU profile, percent.',
    }),
    maxTimeUsagePct: setting({
      env: 'DD_PROFILING_MAX_TIME_USAGE_PCT',
      schema: numberIn(0, 100),
      default: '5',
      doc: 'ragscope\'s overhead cap: profiling time / the worker\'s CPU time over 5 minutes, percent (`always` jobs ignore it).',
    }),
    cpuEnabled: setting({ env: 'DD_PROFILING_CPU_ENABLED', schema: booleanFlag, default: 'true', doc: 'Per-job CPU profiles at all.' }),
    slowJobMs: setting({
      env: 'RAGSCOPE_PROFILE_SLOW_MS',
      schema: integerIn(1, HOUR_MS),
      default: '2000',
      doc: 'A job slower than this (ms) is profiled automatically when it runs again (retry or repeat).',
    }),
    planIntervalSeconds: setting({
      env: 'RAGSCOPE_PLAN_INTERVAL_SECONDS',
      schema: integerIn(0, 7 * 24 * 3600),
      default: '600',
      doc: 'A statement is EXPLAINed for sampled profiles at most once per this many seconds; those in between report that plan (`plans[].reused`). `profile: always` and slow-job profiles always plan afresh. 0 = plan every profiled job (each plan runs the statement again; on PGlite, 1-2.5 s of CPU).',
    }),
    top: setting({ env: 'RAGSCOPE_PROFILE_TOP', schema: integerIn(1, 100), default: '5', doc: 'Hotspots returned per profiled job.' }),
    outputDir: setting({
      env: 'RAGSCOPE_PROFILE_DIR',
      schema: z.string().min(1),
      default: '.ragscope/profiles',
      doc: 'Per-job `.pprof` files (and file-exported continuous profiles) are written here.',
    }),
    continuousEnabled: setting({
      env: 'DD_PROFILING_ENABLED',
      schema: booleanFlag,
      default: 'false',
      heading: 'dd-trace\'s continuous profiler (wall + heap).',
      doc: 'Run it.',
    }),
    memoryEnabled: setting({
      env: 'DD_PROFILING_MEMORY_ENABLED',
      schema: booleanFlag,
      default: 'true',
      doc: 'Heap profiles besides wall time.',
    }),
    continuousExporter: optionalSetting({
      env: 'DD_PROFILING_EXPORTERS',
      schema: z.enum(['agent', 'file'], { message: 'expected agent or file' }),
      example: 'file',
      doc: 'agent | file; default `agent` when DD_AGENT_HOST or DD_TRACE_AGENT_URL is set, else `file` (pprof files in RAGSCOPE_PROFILE_DIR).',
    }),
    uploadPeriodSeconds: setting({
      env: 'DD_PROFILING_UPLOAD_PERIOD',
      schema: integerIn(1, 3600),
      default: '60',
      doc: 'Seconds between continuous profile uploads.',
    }),
  },

  memory: {
    sampleIntervalMs: setting({
      env: 'RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS',
      schema: integerIn(100, 7 * 24 * HOUR_MS),
      default: '3600000',
      heading: 'Heap monitoring (`ragscope scheduler`).',
      doc: 'Period (ms) of the heap-sampling job scheduler.',
    }),
    leakThresholdMbPerHour: setting({
      env: 'RAGSCOPE_LEAK_THRESHOLD_MB_PER_HOUR',
      schema: numberIn(0.001, 1_000_000),
      default: '10',
      doc: 'A sustained heap slope at or above this is a leak.',
    }),
    seriesMaxSamples: setting({
      env: 'RAGSCOPE_HEAP_SERIES_MAX',
      schema: integerIn(6, 100_000),
      default: '168',
      doc: 'Samples kept per worker (168: a week of hourly samples).',
    }),
    workerId: optionalSetting({
      env: 'RAGSCOPE_WORKER_ID',
      schema: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, { message: 'expected 1-128 letters, digits or _ . : @ -' }),
      example: 'worker-1',
      doc: 'A worker\'s series key (default host:pid, so a restarted process starts a fresh series).',
    }),
    forceGc: setting({
      env: 'RAGSCOPE_HEAP_SAMPLE_FORCE_GC',
      schema: booleanFlag,
      default: 'false',
      doc: 'Force a full GC before each scheduled sample (demo and tests; production uses V8\'s own GCs).',
    }),
    alertUrl: optionalSetting({
      env: 'RAGSCOPE_ALERT_URL',
      sensitive: 'secret',
      schema: httpUrl,
      example: 'https://hooks.example.com/ragscope',
      doc: 'Verdict changes are POSTed here as JSON (retried, never fatal).',
    }),
  },

  server: {
    apiToken: optionalSetting({
      env: 'RAGSCOPE_API_TOKEN',
      sensitive: 'secret',
      schema: z.string().min(16, { message: 'must be at least 16 characters' }),
      example: 'at-least-16-characters',
      heading: '`ragscope serve`. A non-loopback --host needs both the token and the password.',
      doc: 'Bearer token POST endpoints and GET /jobs/:id require; unset = open (loopback only).',
    }),
    adminUser: setting({
      env: 'RAGSCOPE_ADMIN_USER',
      schema: z.string().regex(/^[^:\s]{1,64}$/, { message: 'expected 1-64 characters without ":" or spaces' }),
      default: 'admin',
      doc: 'User name of Bull Board\'s basic auth.',
    }),
    adminPassword: optionalSetting({
      env: 'RAGSCOPE_ADMIN_PASSWORD',
      sensitive: 'secret',
      schema: z.string().min(12, { message: 'must be at least 12 characters' }),
      example: 'at-least-12-characters',
      doc: 'Password of Bull Board\'s basic auth; unset = open (loopback only).',
    }),
    boardWrite: setting({
      env: 'RAGSCOPE_BOARD_WRITE',
      schema: booleanFlag,
      default: 'false',
      doc: 'Bull Board may retry, promote and remove jobs.',
    }),
    rateLimitMax: setting({
      env: 'RAGSCOPE_RATE_LIMIT_MAX',
      schema: integerIn(0, 1_000_000),
      default: '3000',
      doc: 'Requests to the job and memory API per client and window (a client: the API token when given and right, else the IP); more get 429 with Retry-After. 0 = no limit. Counted per `serve` process; 3000 a minute stays below what one worker drains.',
    }),
    rateLimitWindowSeconds: setting({
      env: 'RAGSCOPE_RATE_LIMIT_WINDOW_SECONDS',
      schema: integerIn(1, 86_400),
      default: '60',
      doc: 'The rate limit\'s window, in seconds.',
    }),
    bodyLimitBytes: setting({
      env: 'RAGSCOPE_BODY_LIMIT_BYTES',
      schema: integerIn(1024, 10 * 1024 * 1024),
      default: '65536',
      doc: 'Request bodies larger than this are refused with 413.',
    }),
  },
};
