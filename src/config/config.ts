import { z } from 'zod';
import { ConfigError } from '../contracts/errors';

/**
 * Every knob ragscope has, resolved once from the environment. DD_* names are used where Datadog has
 * one (so a dd-trace user's existing settings keep working); ragscope's own knobs are RAGSCOPE_*.
 * `.env.example` documents each variable; keep the two in step.
 */
export interface RagscopeConfig {
  redisUrl: string;
  /** BullMQ key prefix; `bull` is BullMQ's own default so Bull Board and plain scripts see the queues. */
  queuePrefix: string;
  /** A real PostgreSQL server; absent = embedded PGlite. */
  databaseUrl?: string;
  /** Schema holding the document store, so several stores can share one database. */
  databaseSchema: string;
  service: string;
  env?: string;
  version?: string;
  tracingEnabled: boolean;
  /** Where dd-trace sends spans: a Datadog agent, or `ragscope intake` on the same address. */
  agentUrl: string;
  workerConcurrency: number;
  /** Plants the O(n²) rerank for every job, not only jobs that ask for it. */
  plantBottleneck: boolean;
  /** Hash user ids before they become span tags. */
  redactUserIds: boolean;
  /** Query text and user ids may appear in logs (off: they never do). */
  logQueries: boolean;
  /** Attempts for a job whose failure is transient (invalid data is never retried). */
  jobAttempts: number;
  /** BullMQ lock duration: a job whose worker stops renewing it this long is considered stalled. */
  lockMs: number;
  /** How often workers look for stalled jobs to put back in the queue. */
  stalledIntervalMs: number;
  /** Stalls (worker deaths mid-job) a job survives before it fails. */
  maxStalledCount: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** DD_AGENT_HOST or DD_TRACE_AGENT_URL was set: a Datadog agent (or an intake) is expected there. */
  agentConfigured: boolean;
  profiling: ProfilingConfig;
  sampling: SamplingConfig;
  /** Port of a worker's own `/metrics` endpoint; absent = none. */
  metricsPort?: number;
  memory: MemoryConfig;
  server: ServerConfig;
}

export interface ServerConfig {
  /** Bearer token POST endpoints require; absent = open (loopback only). */
  apiToken?: string;
  adminUser: string;
  /** Password of Bull Board's basic auth; absent = open (loopback only). */
  adminPassword?: string;
  /** Bull Board may retry, promote and remove jobs. */
  boardWrite: boolean;
  /** Request bodies larger than this are refused with 413. */
  bodyLimitBytes: number;
}

export interface MemoryConfig {
  /** Period of the heap-sampling job scheduler (default one hour). */
  sampleIntervalMs: number;
  /** This worker's series key; default host:pid, so a restarted process starts a fresh series. */
  workerId?: string;
  /** Force a full GC before each scheduled sample (demo and tests; production uses V8's own GCs). */
  forceGc: boolean;
  /** A sustained slope at or above this is a leak. */
  leakThresholdMbPerHour: number;
  /** Samples kept per worker (default 168: a week of hourly samples). */
  seriesMaxSamples: number;
  /** Verdict changes are POSTed here as JSON. */
  alertUrl?: string;
}

export interface ProfilingConfig {
  /** Share of `profile: auto` jobs given a CPU profile, percent. */
  capturePct: number;
  /** ragscope's own overhead cap (dd-trace for Node has no such knob), percent of job time. */
  maxTimeUsagePct: number;
  cpuEnabled: boolean;
  memoryEnabled: boolean;
  /** dd-trace's continuous profiler (wall + heap). */
  continuousEnabled: boolean;
  /** Where continuous profiles go: the agent, or pprof files under `outputDir`. */
  continuousExporter: 'agent' | 'file';
  /** Seconds between continuous profile uploads. */
  uploadPeriodSeconds: number;
  /** Per-job `.pprof` files (and file-exported continuous profiles) are written here. */
  outputDir: string;
  /** Hotspots returned per profiled job. */
  top: number;
  /** A job slower than this is profiled automatically when it runs again (retry or repeat). */
  slowJobMs: number;
}

export interface SamplingConfig {
  /** Share of traces kept at normal volume (DD_TRACE_SAMPLE_RATE). */
  baseRate: number;
  /** Share kept once the observed rate passes `highVolumeJobsPerHour`. */
  highVolumeRate: number;
  highVolumeJobsPerHour: number;
  pricePerMillionSpansUsd: number;
  /** Monthly budget alert thresholds, ascending. */
  budgetAlertsUsd: number[];
}

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''], {
    message: 'expected one of 1, 0, true, false, yes, no, on, off',
  })
  .transform((value) => ['1', 'true', 'yes', 'on'].includes(value));

const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/.+/, { message: 'expected a redis:// or rediss:// URL' });

const httpUrl = z.string().regex(/^https?:\/\/[^/\s]+/, { message: 'expected an http:// URL' });

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/.+/, { message: 'expected a postgres:// or postgresql:// URL' });

const sqlIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'expected a lower-case SQL identifier' });

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

/** Variable name → parser. Only set, non-empty variables are parsed; the rest take the defaults below. */
const variables = {
  REDIS_URL: redisUrl,
  RAGSCOPE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_{}:.-]{1,64}$/, {
    message: 'expected 1-64 characters of letters, digits, _ { } : . -',
  }),
  DATABASE_URL: postgresUrl,
  RAGSCOPE_DB_SCHEMA: sqlIdentifier,
  DD_SERVICE: z.string().min(1).max(100),
  DD_ENV: z.string().max(100),
  DD_VERSION: z.string().max(100),
  DD_TRACE_ENABLED: booleanFlag,
  DD_TRACE_AGENT_URL: httpUrl,
  DD_AGENT_HOST: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, { message: 'expected a host name or address' }),
  DD_TRACE_AGENT_PORT: integerIn(1, 65535),
  RAGSCOPE_WORKER_CONCURRENCY: integerIn(1, 64),
  RAGSCOPE_PLANT_BOTTLENECK: booleanFlag,
  RAGSCOPE_REDACT: booleanFlag,
  RAGSCOPE_LOG_QUERIES: booleanFlag,
  RAGSCOPE_JOB_ATTEMPTS: integerIn(1, 20),
  RAGSCOPE_LOCK_MS: integerIn(500, 3_600_000),
  RAGSCOPE_STALLED_INTERVAL_MS: integerIn(500, 3_600_000),
  RAGSCOPE_MAX_STALLED_COUNT: integerIn(0, 1000),
  RAGSCOPE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  RAGSCOPE_METRICS_PORT: integerIn(1, 65535),
  RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS: integerIn(100, 7 * 24 * 3_600_000),
  RAGSCOPE_WORKER_ID: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, { message: 'expected 1-128 letters, digits or _ . : @ -' }),
  RAGSCOPE_HEAP_SAMPLE_FORCE_GC: booleanFlag,
  RAGSCOPE_LEAK_THRESHOLD_MB_PER_HOUR: numberIn(0.001, 1_000_000),
  RAGSCOPE_HEAP_SERIES_MAX: integerIn(6, 100_000),
  RAGSCOPE_ALERT_URL: httpUrl,
  RAGSCOPE_API_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }),
  RAGSCOPE_ADMIN_USER: z.string().regex(/^[^:\s]{1,64}$/, { message: 'expected 1-64 characters without ":" or spaces' }),
  RAGSCOPE_ADMIN_PASSWORD: z.string().min(12, { message: 'must be at least 12 characters' }),
  RAGSCOPE_BOARD_WRITE: booleanFlag,
  RAGSCOPE_BODY_LIMIT_BYTES: integerIn(1024, 10 * 1024 * 1024),
  DD_PROFILING_CAPTURE_PCT: numberIn(0, 100),
  DD_PROFILING_MAX_TIME_USAGE_PCT: numberIn(0, 100),
  DD_PROFILING_CPU_ENABLED: booleanFlag,
  DD_PROFILING_MEMORY_ENABLED: booleanFlag,
  DD_PROFILING_ENABLED: booleanFlag,
  DD_PROFILING_EXPORTERS: z.enum(['agent', 'file'], { message: 'expected agent or file' }),
  DD_PROFILING_UPLOAD_PERIOD: integerIn(1, 3600),
  RAGSCOPE_PROFILE_DIR: z.string().min(1),
  RAGSCOPE_PROFILE_TOP: integerIn(1, 100),
  RAGSCOPE_PROFILE_SLOW_MS: integerIn(1, 3_600_000),
  DD_TRACE_SAMPLE_RATE: numberIn(0, 1),
  RAGSCOPE_TRACE_SAMPLE_RATE_HIGH_VOLUME: numberIn(0, 1),
  RAGSCOPE_HIGH_VOLUME_JOBS_PER_HOUR: integerIn(1, 1_000_000_000),
  RAGSCOPE_SPAN_PRICE_PER_MILLION_USD: numberIn(0, 1_000_000),
  RAGSCOPE_BUDGET_ALERTS_USD: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, { message: 'expected comma-separated amounts, e.g. 100,200' })
    .transform((value) => value.split(',').map(Number).sort((left, right) => left - right)),
} as const;

type VariableName = keyof typeof variables;
type Parsed = { [K in VariableName]?: z.output<(typeof variables)[K]> };

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_AGENT_PORT = 8126;

/**
 * Resolves the configuration from `env`. Throws a ConfigError naming every bad variable, so a
 * misconfigured process stops at start-up instead of failing on its first job.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RagscopeConfig {
  const parsed: Parsed = {};
  const problems: string[] = [];
  for (const name of Object.keys(variables) as VariableName[]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const result = variables[name].safeParse(raw.trim());
    if (result.success) {
      (parsed as Record<string, unknown>)[name] = result.data;
    } else {
      problems.push(`${name}=${JSON.stringify(raw)}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n  ${problems.join('\n  ')}`,
      'see .env.example for every variable and its default',
    );
  }

  return {
    redisUrl: parsed.REDIS_URL ?? DEFAULT_REDIS_URL,
    queuePrefix: parsed.RAGSCOPE_QUEUE_PREFIX ?? 'bull',
    databaseUrl: parsed.DATABASE_URL,
    databaseSchema: parsed.RAGSCOPE_DB_SCHEMA ?? 'public',
    service: parsed.DD_SERVICE ?? 'ragscope',
    env: parsed.DD_ENV,
    version: parsed.DD_VERSION,
    tracingEnabled: parsed.DD_TRACE_ENABLED ?? true,
    agentUrl: resolveAgentUrl(parsed),
    workerConcurrency: parsed.RAGSCOPE_WORKER_CONCURRENCY ?? 2,
    plantBottleneck: parsed.RAGSCOPE_PLANT_BOTTLENECK ?? false,
    redactUserIds: parsed.RAGSCOPE_REDACT ?? false,
    logQueries: parsed.RAGSCOPE_LOG_QUERIES ?? false,
    jobAttempts: parsed.RAGSCOPE_JOB_ATTEMPTS ?? 3,
    // BullMQ's own defaults, except stalls: a crash-looping host should not fail a job at its first death.
    lockMs: parsed.RAGSCOPE_LOCK_MS ?? 30_000,
    stalledIntervalMs: parsed.RAGSCOPE_STALLED_INTERVAL_MS ?? 30_000,
    maxStalledCount: parsed.RAGSCOPE_MAX_STALLED_COUNT ?? 3,
    logLevel: parsed.RAGSCOPE_LOG_LEVEL ?? 'info',
    agentConfigured: Boolean(parsed.DD_TRACE_AGENT_URL || parsed.DD_AGENT_HOST),
    metricsPort: parsed.RAGSCOPE_METRICS_PORT,
    server: {
      apiToken: parsed.RAGSCOPE_API_TOKEN,
      adminUser: parsed.RAGSCOPE_ADMIN_USER ?? 'admin',
      adminPassword: parsed.RAGSCOPE_ADMIN_PASSWORD,
      boardWrite: parsed.RAGSCOPE_BOARD_WRITE ?? false,
      bodyLimitBytes: parsed.RAGSCOPE_BODY_LIMIT_BYTES ?? 64 * 1024,
    },
    memory: {
      sampleIntervalMs: parsed.RAGSCOPE_HEAP_SAMPLE_INTERVAL_MS ?? 3_600_000,
      workerId: parsed.RAGSCOPE_WORKER_ID,
      forceGc: parsed.RAGSCOPE_HEAP_SAMPLE_FORCE_GC ?? false,
      leakThresholdMbPerHour: parsed.RAGSCOPE_LEAK_THRESHOLD_MB_PER_HOUR ?? 10,
      seriesMaxSamples: parsed.RAGSCOPE_HEAP_SERIES_MAX ?? 168,
      alertUrl: parsed.RAGSCOPE_ALERT_URL,
    },
    profiling: {
      capturePct: parsed.DD_PROFILING_CAPTURE_PCT ?? 1,
      maxTimeUsagePct: parsed.DD_PROFILING_MAX_TIME_USAGE_PCT ?? 5,
      cpuEnabled: parsed.DD_PROFILING_CPU_ENABLED ?? true,
      memoryEnabled: parsed.DD_PROFILING_MEMORY_ENABLED ?? true,
      continuousEnabled: parsed.DD_PROFILING_ENABLED ?? false,
      // With no agent configured, continuous profiles land on disk rather than being dropped.
      continuousExporter: parsed.DD_PROFILING_EXPORTERS ?? (parsed.DD_TRACE_AGENT_URL || parsed.DD_AGENT_HOST ? 'agent' : 'file'),
      uploadPeriodSeconds: parsed.DD_PROFILING_UPLOAD_PERIOD ?? 60,
      outputDir: parsed.RAGSCOPE_PROFILE_DIR ?? '.ragscope/profiles',
      top: parsed.RAGSCOPE_PROFILE_TOP ?? 5,
      slowJobMs: parsed.RAGSCOPE_PROFILE_SLOW_MS ?? 2000,
    },
    sampling: {
      baseRate: parsed.DD_TRACE_SAMPLE_RATE ?? 0.1,
      highVolumeRate: parsed.RAGSCOPE_TRACE_SAMPLE_RATE_HIGH_VOLUME ?? 0.01,
      highVolumeJobsPerHour: parsed.RAGSCOPE_HIGH_VOLUME_JOBS_PER_HOUR ?? 10_000,
      pricePerMillionSpansUsd: parsed.RAGSCOPE_SPAN_PRICE_PER_MILLION_USD ?? 5,
      budgetAlertsUsd: parsed.RAGSCOPE_BUDGET_ALERTS_USD ?? [100, 200],
    },
  };
}

/** dd-trace's own precedence: an explicit URL wins over host + port. */
function resolveAgentUrl(parsed: Parsed): string {
  if (parsed.DD_TRACE_AGENT_URL) return parsed.DD_TRACE_AGENT_URL.replace(/\/+$/, '');
  const host = parsed.DD_AGENT_HOST ?? '127.0.0.1';
  const port = parsed.DD_TRACE_AGENT_PORT ?? DEFAULT_AGENT_PORT;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** Connection strings with their password replaced, for logs and `--help` output. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}
