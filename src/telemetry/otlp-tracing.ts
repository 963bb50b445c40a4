import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { RagscopeConfig } from '../config/config';

export interface OtlpTracing {
  /** Exports what the batch processor holds, giving up after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

/**
 * The open-source path: the OpenTelemetry JS SDK with its OTLP/HTTP protobuf exporter, for any
 * collector, Grafana Tempo or Jaeger. Spans are the same ones the Datadog path records, because
 * every ragscope span is made through @opentelemetry/api; only the provider behind it differs.
 *
 * Sampling stays ragscope's (see sampling/): an unsampled trace never reaches the SDK (inSpan makes
 * no span for it), so the SDK keeps every root it sees and follows the parent's sampled flag
 * across the queue hop, exactly as dd-trace does with its own rate set to 1.
 */
export function startOtlpTracing(config: RagscopeConfig, options: { flushIntervalMs: number }): OtlpTracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.service,
      ...(config.version ? { 'service.version': config.version } : {}),
      ...(config.env ? { 'deployment.environment.name': config.env } : {}),
    }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    // Headers, timeout and compression come from the standard OTEL_EXPORTER_OTLP_* variables,
    // which the exporter reads itself; the URL is resolved once, in config.
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: config.traces.otlpTracesUrl }),
        scheduledDelayMillis: options.flushIntervalMs,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    flush: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        // A collector that is down must not hold a command's exit: the exporter drops the batch.
        provider.forceFlush({ timeoutMillis: timeoutMs }).then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          () => {
            clearTimeout(timer);
            resolve();
          },
        );
      }),
  };
}
