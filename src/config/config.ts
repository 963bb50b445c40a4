import { ConfigError } from '../contracts/errors';
import { describeRedisTarget, resolveQueuePrefix, resolveRedisTarget, type RedisTarget } from './redis-target';
import { resolveSettings, type Resolved } from './setting';
import { settings } from './settings';

type SettingValues = Resolved<typeof settings>;

/**
 * Every knob ragscope has, resolved once from the environment: the settings table's values plus
 * the few that are computed from several knobs. Nothing writes it back into `process.env`, so two
 * `loadConfig()` calls in one process always agree.
 */
export type RagscopeConfig = Omit<SettingValues, 'profiling' | 'redis' | 'tracingEnabled' | 'traces'> & {
  /** One server, Sentinel or Cluster (src/queue/connection.ts connects to it). */
  redis: RedisTarget;
  tracingEnabled: boolean;
  traces: TracesConfig;
  /** Where dd-trace sends spans (dd-trace's precedence: an explicit URL wins over host + port). */
  agentUrl: string;
  /** DD_AGENT_HOST or DD_TRACE_AGENT_URL was set: a Datadog agent (or an intake) is expected there. */
  agentConfigured: boolean;
  profiling: ProfilingConfig;
};

export type ProfilingConfig = Omit<SettingValues['profiling'], 'continuousExporter'> & {
  /** Where continuous profiles go: the agent, or pprof files under `outputDir`. */
  continuousExporter: 'agent' | 'file';
};
export interface TracesConfig {
  /**
   * Where spans go: `datadog` (dd-trace, to the agent or `ragscope intake`) or `otlp` (the
   * OpenTelemetry SDK's OTLP/HTTP protobuf exporter, to a collector, Tempo or Jaeger).
   */
  exporter: 'datadog' | 'otlp';
  /** The OTLP traces URL (used when `exporter` is `otlp`). */
  otlpTracesUrl: string;
}
export type SamplingConfig = RagscopeConfig['sampling'];
export type MemoryConfig = RagscopeConfig['memory'];
export type ServerConfig = RagscopeConfig['server'];

/**
 * Resolves the configuration from `env`. Throws a ConfigError naming every bad variable, so a
 * misconfigured process stops at start-up instead of failing on its first job.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): RagscopeConfig {
  const { values, problems } = resolveSettings(settings, env);
  const { target: redis, problems: redisProblems } = resolveRedisTarget(values.redis);
  const queuePrefix = resolveQueuePrefix(values.queuePrefix, redis);
  // Combinations are judged only once every variable parsed: a bad REDIS_URL is reported as such.
  if (problems.length === 0) problems.push(...redisProblems, ...(queuePrefix.problem ? [queuePrefix.problem] : []));
  if (problems.length === 0 && redis.kind === 'cluster' && values.enqueueWaitReplicas > 0) {
    // WAIT has no key, so a Cluster client would send it to an arbitrary node, not the one that took the write.
    problems.push('RAGSCOPE_ENQUEUE_WAIT_REPLICAS applies to one server or Sentinel, not to a Cluster (REDIS_CLUSTER_NODES): unset it');
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n  ${problems.join('\n  ')}`,
      'see .env.example for every variable and its default',
    );
  }
  const agentConfigured = Boolean(values.agent.url || values.agent.host);
  return {
    ...values,
    redis,
    queuePrefix: queuePrefix.prefix,
    // As in dd-trace: an explicit DD_TRACE_ENABLED wins, else OTEL_TRACES_EXPORTER=none turns tracing off.
    tracingEnabled: values.tracingEnabled ?? values.traces.otelExporter !== 'none',
    traces: resolveTraces(values.traces),
    agentUrl: resolveAgentUrl(values.agent),
    agentConfigured,
    profiling: {
      ...values.profiling,
      // With no agent configured, continuous profiles land on disk rather than being dropped.
      continuousExporter: values.profiling.continuousExporter ?? (agentConfigured ? 'agent' : 'file'),
    },
  };
}

/** The configuration of an empty environment. */
export const DEFAULTS: RagscopeConfig = loadConfig({});
export const DEFAULT_AGENT_PORT = DEFAULTS.agent.port;

/**
 * RAGSCOPE_TRACES_EXPORTER wins; otherwise OTEL_TRACES_EXPORTER=otlp selects OTLP, as it would for
 * any OpenTelemetry SDK. The traces URL follows the OTLP exporter spec: the signal-specific
 * endpoint as given, or the base endpoint + `/v1/traces`.
 */
function resolveTraces(traces: SettingValues['traces']): TracesConfig {
  const exporter = traces.exporter ?? (traces.otelExporter === 'otlp' ? 'otlp' : 'datadog');
  if (exporter === 'datadog' && traces.otelExporter === 'otlp') {
    // dd-trace would obey OTEL_TRACES_EXPORTER and send OTLP/JSON instead of reaching the agent.
    throw new ConfigError(
      'RAGSCOPE_TRACES_EXPORTER=datadog conflicts with OTEL_TRACES_EXPORTER=otlp (dd-trace would send its spans over OTLP, not to the agent)',
      'unset OTEL_TRACES_EXPORTER for Datadog, or set RAGSCOPE_TRACES_EXPORTER=otlp',
    );
  }
  return { exporter, otlpTracesUrl: traces.tracesEndpoint ?? `${traces.endpoint.replace(/\/+$/, '')}/v1/traces` };
}

function resolveAgentUrl(agent: SettingValues['agent']): string {
  if (agent.url) return agent.url.replace(/\/+$/, '');
  const host = agent.host ?? '127.0.0.1';
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${agent.port}`;
}

export { DEFAULT_REDIS_URL, describeRedisTarget, redactUrl, type RedisTarget } from './redis-target';
