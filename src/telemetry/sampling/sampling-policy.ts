import type { SamplingConfig } from '../../config/config';

/**
 * Trace sampling and cost, as pure functions of the observed job rate. ragscope applies the rate
 * itself when a trace starts (on `rag.enqueue`, or `rag.job` for jobs without a carrier) because
 * dd-trace cannot change its own rate at runtime without remote configuration.
 */

/** Spans one sampled rag-query job produces: rag.enqueue, rag.job and the four stages. */
export const SPANS_PER_JOB = 6;

const HOURS_PER_MONTH = 24 * 30;

export function traceSampleRate(jobsPerHour: number, policy: SamplingConfig): number {
  return jobsPerHour > policy.highVolumeJobsPerHour ? policy.highVolumeRate : policy.baseRate;
}

export interface CostEstimate {
  jobsPerHour: number;
  sampleRate: number;
  spansPerMonth: number;
  costPerMonthUsd: number;
  pricePerMillionSpansUsd: number;
  /** Every configured threshold, with whether the estimate reaches it. */
  budgetAlerts: Array<{ thresholdUsd: number; reached: boolean }>;
}

export function estimateMonthlyCost(jobsPerHour: number, policy: SamplingConfig, spansPerJob = SPANS_PER_JOB): CostEstimate {
  const sampleRate = traceSampleRate(jobsPerHour, policy);
  const spansPerMonth = Math.round(jobsPerHour * HOURS_PER_MONTH * spansPerJob * sampleRate);
  const costPerMonthUsd = Math.round((spansPerMonth / 1e6) * policy.pricePerMillionSpansUsd * 100) / 100;
  return {
    jobsPerHour,
    sampleRate,
    spansPerMonth,
    costPerMonthUsd,
    pricePerMillionSpansUsd: policy.pricePerMillionSpansUsd,
    budgetAlerts: policy.budgetAlertsUsd.map((thresholdUsd) => ({ thresholdUsd, reached: costPerMonthUsd >= thresholdUsd })),
  };
}
