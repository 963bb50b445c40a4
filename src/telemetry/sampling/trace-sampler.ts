import type { SamplingConfig } from '../../config/config';
import { SPANS_PER_JOB, traceSampleRate } from './sampling-policy';
import { processMetrics, type RagscopeMetrics } from '../metrics';

/** Where the observed job rate comes from (the shared meter in Redis, or a fixed figure in tests). */
export interface JobRateSource {
  jobsPerHour(): Promise<number>;
  /** The last reading while it is still fresh, without I/O; undefined when it must be read again. */
  freshJobsPerHour?(): number | undefined;
}

export interface SamplingDecision {
  sampled: boolean;
  rate: number;
  jobsPerHour: number;
}

/**
 * Decides, once per trace, whether it is kept. The decision rides in the traceparent's sampled
 * flag, so the worker keeps or drops the whole trace with the producer and never half of it.
 */
export class TraceSampler {
  constructor(
    private readonly meter: JobRateSource,
    private readonly policy: SamplingConfig,
    private readonly random: () => number = Math.random,
    private readonly metrics: Pick<RagscopeMetrics, 'traceSampleRate' | 'spansEstimatedTotal' | 'spanPriceUsd' | 'traceBudgetUsd'> = processMetrics(),
  ) {
    // The cost estimate's inputs beside its counter, so Prometheus can price the spans itself.
    metrics.spanPriceUsd.set(policy.pricePerMillionSpansUsd / 1e6);
    if (policy.budgetAlertsUsd.length > 0) metrics.traceBudgetUsd.set(Math.min(...policy.budgetAlertsUsd));
  }

  /**
   * The decision, synchronously while the job rate's last reading is fresh (nearly every job), so
   * a job pays no promise for it.
   */
  decide(): SamplingDecision | Promise<SamplingDecision> {
    const fresh = this.meter.freshJobsPerHour?.();
    return fresh === undefined ? this.meter.jobsPerHour().then((jobsPerHour) => this.decideAt(jobsPerHour)) : this.decideAt(fresh);
  }

  private decideAt(jobsPerHour: number): SamplingDecision {
    const rate = traceSampleRate(jobsPerHour, this.policy);
    const sampled = this.random() < rate;
    this.metrics.traceSampleRate.set(rate);
    if (sampled) this.metrics.spansEstimatedTotal.inc(SPANS_PER_JOB);
    return { sampled, rate, jobsPerHour };
  }
}
