import type { Logger } from 'pino';
import type { RagscopeConfig } from '../config/config';
import type { HeapSeriesStore } from '../memory/heap-series-store';
import type { RagscopeProducer } from '../queue/producer';
import type { RagscopeMetrics } from '../telemetry/metrics';

export interface HealthCheck {
  name: string;
  check: () => Promise<string>;
}

/** What the HTTP app is built from; each plugin takes the part it needs. */
export interface ServerDependencies {
  config: RagscopeConfig;
  producer: RagscopeProducer;
  heapStore: HeapSeriesStore;
  logger: Logger;
  /** Each returns a short status or throws; any throw makes /health answer 503. */
  healthChecks: HealthCheck[];
  /** What /metrics serves besides the queue gauges (default: the process's own metric set). */
  metrics?: RagscopeMetrics;
}
