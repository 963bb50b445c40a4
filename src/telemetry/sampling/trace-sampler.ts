import type { SamplingConfig } from '../../config/config';
import { traceSampleRate } from './sampling-policy';
import type { JobRateMeter } from './job-rate';

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
  private lastRate: number;

  constructor(
    private readonly meter: JobRateMeter,
    private readonly policy: SamplingConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.lastRate = policy.baseRate;
  }

  async decide(): Promise<SamplingDecision> {
    const jobsPerHour = await this.meter.jobsPerHour();
    const rate = traceSampleRate(jobsPerHour, this.policy);
    this.lastRate = rate;
    return { sampled: this.random() < rate, rate, jobsPerHour };
  }

  /** The rate of the last decision, for the `ragscope_trace_sample_rate` gauge. */
  get currentRate(): number {
    return this.lastRate;
  }
}
