import type { RagscopeConfig } from '../config/config';
import { estimateMonthlyCost } from '../telemetry/sampling/sampling-policy';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  detail: string;
  /** What to do about a warning or failure. */
  fix?: string;
}

/** What the probes found; every field is optional because a probe may not have run. */
export interface DoctorFacts {
  config?: RagscopeConfig;
  configError?: string;
  agent?: { kind: 'datadog-agent' | 'ragscope-intake' | 'none'; detail: string };
  testSpan?: { accepted: boolean; detail: string };
  redis?: { reachable: boolean; detail: string; evictionPolicy?: string; appendOnly?: string; savePolicy?: string };
  postgres?: { reachable: boolean; detail: string };
  observedJobsPerHour?: number;
}

/**
 * The production checklist as a pure function of what the probes found, so every rule is
 * unit-tested without a broken server to hand.
 */
export function doctorChecklist(facts: DoctorFacts): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  if (facts.configError || !facts.config) {
    checks.push({ name: 'configuration', level: 'fail', detail: facts.configError ?? 'not loaded', fix: 'see .env.example for every variable' });
    return checks;
  }
  const config = facts.config;
  checks.push({ name: 'configuration', level: 'ok', detail: 'every variable is valid' });

  const traceRate = config.sampling.baseRate;
  checks.push(
    traceRate <= 0.1
      ? { name: 'trace sampling', level: 'ok', detail: `${traceRate * 100}% of traces (${config.sampling.highVolumeRate * 100}% above ${config.sampling.highVolumeJobsPerHour} jobs/hour)` }
      : {
          name: 'trace sampling',
          level: 'warn',
          detail: `${traceRate * 100}% of traces is above the production-safe 10%: span volume and cost grow in proportion`,
          fix: 'DD_TRACE_SAMPLE_RATE=0.1',
        },
  );
  const capture = config.profiling.capturePct;
  checks.push(
    capture <= 1
      ? { name: 'profiling capture', level: 'ok', detail: `${capture}% of jobs get a CPU profile` }
      : { name: 'profiling capture', level: 'warn', detail: `${capture}% of jobs profiled is above the production-safe 1%; each runs alone in its worker`, fix: 'DD_PROFILING_CAPTURE_PCT=1' },
  );
  const cap = config.profiling.maxTimeUsagePct;
  checks.push(
    cap > 0 && cap <= 10
      ? { name: 'profiling overhead cap', level: 'ok', detail: `${cap}% of job time` }
      : { name: 'profiling overhead cap', level: 'warn', detail: cap === 0 ? 'the cap is 0: no job is ever profiled automatically' : `${cap}% allows heavy profiling overhead`, fix: 'DD_PROFILING_MAX_TIME_USAGE_PCT=5' },
  );

  if (facts.agent) {
    checks.push(
      facts.agent.kind === 'none'
        ? { name: 'trace destination', level: 'warn', detail: facts.agent.detail, fix: 'start `ragscope intake` here, or set DD_AGENT_HOST / DD_TRACE_AGENT_URL to a Datadog agent' }
        : { name: 'trace destination', level: 'ok', detail: facts.agent.detail },
    );
  }
  if (facts.testSpan) {
    checks.push(
      facts.testSpan.accepted
        ? { name: 'test span', level: 'ok', detail: facts.testSpan.detail }
        : { name: 'test span', level: facts.agent?.kind === 'none' ? 'warn' : 'fail', detail: facts.testSpan.detail, fix: 'check the agent logs and DD_TRACE_AGENT_URL' },
    );
  }

  const redis = facts.redis;
  if (redis) {
    if (!redis.reachable) {
      checks.push({ name: 'redis', level: 'fail', detail: redis.detail, fix: 'start Redis or point REDIS_URL at it' });
    } else {
      checks.push({ name: 'redis', level: 'ok', detail: redis.detail });
      if (redis.evictionPolicy === undefined) {
        checks.push({ name: 'redis eviction', level: 'warn', detail: 'maxmemory-policy cannot be read (CONFIG is disabled)', fix: 'make sure the provider sets noeviction' });
      } else if (redis.evictionPolicy !== 'noeviction') {
        checks.push({ name: 'redis eviction', level: 'fail', detail: `maxmemory-policy is ${redis.evictionPolicy}: Redis may evict queue keys and lose jobs`, fix: 'CONFIG SET maxmemory-policy noeviction, and in redis.conf' });
      } else {
        checks.push({ name: 'redis eviction', level: 'ok', detail: 'noeviction' });
      }
      const persistent = redis.appendOnly === 'yes' || (redis.savePolicy !== undefined && redis.savePolicy.trim() !== '');
      checks.push(
        persistent
          ? { name: 'redis persistence', level: 'ok', detail: redis.appendOnly === 'yes' ? 'AOF on' : `RDB snapshots (${redis.savePolicy})` }
          : { name: 'redis persistence', level: 'warn', detail: 'neither AOF nor RDB snapshots: queued jobs are lost when Redis restarts', fix: 'appendonly yes' },
      );
    }
  }
  if (facts.postgres) {
    checks.push(
      facts.postgres.reachable
        ? { name: 'postgresql', level: 'ok', detail: facts.postgres.detail }
        : { name: 'postgresql', level: 'fail', detail: facts.postgres.detail, fix: 'check DATABASE_URL, or unset it for the embedded PGlite' },
    );
  }

  const budgets = config.sampling.budgetAlertsUsd;
  if (budgets.length === 0) {
    checks.push({ name: 'budget alerts', level: 'warn', detail: 'no budget thresholds configured', fix: 'RAGSCOPE_BUDGET_ALERTS_USD=100,200' });
  } else {
    const estimate = facts.observedJobsPerHour === undefined ? undefined : estimateMonthlyCost(facts.observedJobsPerHour, config.sampling);
    const reached = estimate?.budgetAlerts.filter((alert) => alert.reached) ?? [];
    checks.push(
      reached.length > 0
        ? { name: 'budget alerts', level: 'warn', detail: `estimated $${estimate!.costPerMonthUsd}/month reaches the $${reached.at(-1)!.thresholdUsd} budget`, fix: 'lower DD_TRACE_SAMPLE_RATE or raise the budget' }
        : { name: 'budget alerts', level: 'ok', detail: `thresholds $${budgets.join(', $')}${estimate ? `; estimate $${estimate.costPerMonthUsd}/month at ${estimate.jobsPerHour} jobs/hour` : ''}` },
    );
  }
  return checks;
}

export function doctorExitCode(checks: DoctorCheck[]): number {
  return checks.some((check) => check.level === 'fail') ? 1 : 0;
}
