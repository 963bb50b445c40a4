import { trace, type Tracer } from '@opentelemetry/api';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RagscopeConfig } from '../config/config';
import { DatadogConventionsProcessor } from './datadog-conventions';

/** Instrumentation scope of every ragscope span. */
export const TRACER_NAME = 'ragscope';

let initialised = false;
let otlp: import('./otlp-tracing').OtlpTracing | undefined;

/**
 * Starts the tracer behind @opentelemetry/api: dd-trace's OpenTelemetry TracerProvider, so spans
 * become Datadog spans (the default), or, with RAGSCOPE_TRACES_EXPORTER=otlp or
 * OTEL_TRACES_EXPORTER=otlp, the OpenTelemetry SDK exporting OTLP/HTTP protobuf (otlp-tracing.ts).
 * In OTLP mode dd-trace still runs the continuous profiler when DD_PROFILING_ENABLED asks for it.
 * This is the only place that imports dd-trace.
 *
 * Automatic integrations are off on purpose: the job context travels in `data.trace` (dd-trace's
 * bullmq plugin would start a second, competing parent chain through `opts.telemetry`), and
 * ioredis spans would turn BullMQ's blocking polls into thousands of meaningless spans per minute.
 * Every span ragscope shows is one it starts itself.
 */
export function initTracing(config: RagscopeConfig, options: { flushIntervalMs?: number } = {}): void {
  if (initialised || !config.tracingEnabled) return;
  initialised = true;
  const flushIntervalMs = options.flushIntervalMs ?? 2000;
  if (config.traces.exporter === 'otlp') {
    // Loaded here, not at module scope: the Datadog path never pays for the OpenTelemetry SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startOtlpTracing } = require('./otlp-tracing') as typeof import('./otlp-tracing');
    otlp = startOtlpTracing(config, { flushIntervalMs });
    // dd-trace only for its continuous profiler: its TracerProvider is not registered, so it records no span.
    if (config.profiling.continuousEnabled) startDdTrace(config, flushIntervalMs);
    return;
  }
  const tracer = startDdTrace(config, flushIntervalMs);
  // dd-trace's OTel bridge leaves 128-bit ids, `_dd.p.tid` and top-level marks to the caller.
  new tracer.TracerProvider({ spanProcessors: [new DatadogConventionsProcessor()] }).register();
}

function startDdTrace(config: RagscopeConfig, flushIntervalMs: number): import('dd-trace').Tracer {
  if (config.profiling.continuousEnabled) mkdirSync(config.profiling.outputDir, { recursive: true });
  // Loaded here, not at module scope: commands that trace nothing (intake, help) never pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ddTrace = require('dd-trace') as typeof import('dd-trace');
  return withEnvironment(continuousProfilerEnvironment(config, process.env), () =>
    ddTrace.init({
      service: config.service,
      env: config.env,
      version: config.version,
      url: config.agentUrl,
      plugins: false,
      startupLogs: false,
      logInjection: false,
      flushInterval: flushIntervalMs,
      // ragscope applies DD_TRACE_SAMPLE_RATE itself where a trace starts (see sampling/); dd-trace
      // must keep every span ragscope records, or the rate would be applied twice. An init option
      // outranks the environment variable in dd-trace, so the variable needs no editing.
      sampleRate: 1,
      profiling: config.profiling.continuousEnabled,
    }),
  );
}

export function getTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Sends buffered spans now. Short-lived commands call it before they exit; long-lived processes
 * rely on the exporter's periodic flush.
 */
export async function flushTraces(timeoutMs = 2000): Promise<void> {
  if (!initialised) return;
  if (otlp) return otlp.flush(timeoutMs);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ddTrace = require('dd-trace') as { _tracer?: { _exporter?: { flush?: (done: () => void) => void } } };
  const exporter = ddTrace._tracer?._exporter;
  if (!exporter?.flush) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    exporter.flush!(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * dd-trace's continuous profiler takes its settings from the environment only (its init options
 * have no names for them). ragscope's production-safe defaults for the ones the user has not set:
 * wall time, plus heap unless DD_PROFILING_MEMORY_ENABLED=false, and local pprof files when no agent
 * is configured. Pure: the variables to add, never the ones already set.
 */
export function continuousProfilerEnvironment(
  config: RagscopeConfig,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  if (!config.profiling.continuousEnabled) return {};
  const defaults: Record<string, string> = {
    DD_PROFILING_PROFILERS: config.profiling.memoryEnabled ? 'wall,space' : 'wall',
    DD_PROFILING_EXPORTERS: config.profiling.continuousExporter,
    DD_PROFILING_UPLOAD_PERIOD: String(config.profiling.uploadPeriodSeconds),
    DD_PROFILING_PPROF_PREFIX: `${path.resolve(config.profiling.outputDir)}/continuous-`,
  };
  return Object.fromEntries(Object.entries(defaults).filter(([name]) => env[name] === undefined));
}

/**
 * Runs `build` (dd-trace's synchronous init, which reads its whole configuration into its own
 * object) with `additions` visible in the environment, then removes them: the process
 * environment after start-up is exactly what the user gave, so a later loadConfig() agrees.
 */
function withEnvironment<T>(additions: Record<string, string>, build: () => T): T {
  for (const [name, value] of Object.entries(additions)) process.env[name] = value;
  try {
    return build();
  } finally {
    for (const name of Object.keys(additions)) delete process.env[name];
  }
}
