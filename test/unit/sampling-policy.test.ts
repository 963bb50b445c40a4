import { describe, expect, it } from 'vitest';
import type { SamplingConfig } from '../../src/config/config';
import { estimateMonthlyCost, SPANS_PER_JOB, traceSampleRate } from '../../src/telemetry/sampling/sampling-policy';

const policy: SamplingConfig = {
  baseRate: 0.1,
  highVolumeRate: 0.01,
  highVolumeJobsPerHour: 10_000,
  pricePerMillionSpansUsd: 5,
  budgetAlertsUsd: [100, 200],
};

describe('traceSampleRate', () => {
  it.each([
    [0, 0.1],
    [500, 0.1],
    [10_000, 0.1],
    [10_001, 0.01],
    [1_000_000, 0.01],
  ])('%i jobs/hour → %f', (jobsPerHour, rate) => {
    expect(traceSampleRate(jobsPerHour, policy)).toBe(rate);
  });
});

describe('estimateMonthlyCost', () => {
  it('multiplies jobs by spans, sample rate and price', () => {
    // 1,000 jobs/h × 720 h × 6 spans × 0.1 = 432,000 spans = $2.16.
    expect(estimateMonthlyCost(1000, policy)).toEqual({
      jobsPerHour: 1000,
      sampleRate: 0.1,
      spansPerMonth: 432_000,
      costPerMonthUsd: 2.16,
      pricePerMillionSpansUsd: 5,
      budgetAlerts: [
        { thresholdUsd: 100, reached: false },
        { thresholdUsd: 200, reached: false },
      ],
    });
    expect(SPANS_PER_JOB).toBe(6);
  });

  it('the adaptive rate keeps the high-volume bill bounded', () => {
    const justBelow = estimateMonthlyCost(10_000, policy);
    const justAbove = estimateMonthlyCost(10_001, policy);
    expect(justBelow.costPerMonthUsd).toBe(21.6);
    expect(justAbove.costPerMonthUsd).toBeLessThan(justBelow.costPerMonthUsd);
  });

  it.each([
    [500_000, [true, false]],
    [1_000_000, [true, true]],
  ])('flags the budgets a %i jobs/hour bill reaches', (jobsPerHour, reached) => {
    // 500k/h × 720 × 6 × 0.01 = 21.6M spans = $108; 1M/h = $216.
    expect(estimateMonthlyCost(jobsPerHour, policy).budgetAlerts.map((alert) => alert.reached)).toEqual(reached);
  });

  it('follows the configured price', () => {
    expect(estimateMonthlyCost(1000, { ...policy, pricePerMillionSpansUsd: 1.7 }).costPerMonthUsd).toBeCloseTo(0.73, 2);
  });
});
