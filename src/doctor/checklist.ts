import type { RagscopeConfig } from '../config/config';
import type { RedisNodeFacts, RedisTopology } from '../queue/topology';
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
  redis?: { reachable: boolean; detail: string; topology?: RedisTopology };
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
      checks.push({ name: 'redis', level: 'fail', detail: redis.detail, fix: 'start Redis or point REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES) at it' });
    } else {
      checks.push({ name: 'redis', level: 'ok', detail: redis.topology ? `${redis.detail}; ${redis.topology.summary}` : redis.detail });
      if (redis.topology) checks.push(...redisNodeChecks(redis.topology));
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

/** Topology, eviction and persistence, judged on every server doctor could reach. */
export function redisNodeChecks(topology: RedisTopology): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const list = (nodes: RedisNodeFacts[]) => nodes.map((node) => node.address).join(', ');
  if (topology.kind === 'sentinel') {
    const answering = topology.sentinelsAnswering ?? 0;
    const replicas = topology.nodes.filter((node) => node.role === 'replica').length;
    checks.push(
      answering < 3
        ? { name: 'redis topology', level: 'warn', detail: `only ${answering} sentinel(s) answer: a failover needs a majority of at least 3`, fix: 'run three sentinels on separate hosts' }
        : replicas === 0
          ? { name: 'redis topology', level: 'warn', detail: 'no healthy replica: a failover has nothing to promote', fix: 'add a replica (replicaof <primary>)' }
          : { name: 'redis topology', level: 'ok', detail: `${answering} sentinels, ${replicas} replica(s)` },
    );
  } else if (topology.kind === 'cluster') {
    const replicas = topology.nodes.filter((node) => node.role === 'replica').length;
    checks.push(
      replicas === 0
        ? { name: 'redis topology', level: 'warn', detail: 'no replicas: when a primary dies its slots (and the queues in them) are unavailable', fix: 'give each primary a replica (redis-cli --cluster add-node --cluster-slave)' }
        : { name: 'redis topology', level: 'ok', detail: topology.summary },
    );
  }
  const broken = topology.nodes.filter((node) => node.error !== undefined);
  if (broken.length > 0) {
    checks.push({ name: 'redis nodes', level: 'warn', detail: `cannot inspect ${broken.map((node) => `${node.address} (${node.error})`).join(', ')}`, fix: 'check that every node is reachable from here' });
  }
  const inspected = topology.nodes.filter((node) => node.error === undefined);
  const where = inspected.length > 1 ? ` on all ${inspected.length} nodes` : '';
  const evicting = inspected.filter((node) => node.evictionPolicy !== undefined && node.evictionPolicy !== 'noeviction');
  const unreadable = inspected.filter((node) => node.evictionPolicy === undefined);
  if (evicting.length > 0) {
    checks.push({
      name: 'redis eviction',
      level: 'fail',
      detail: `maxmemory-policy is ${evicting.map((node) => `${node.evictionPolicy} on ${node.address}`).join(', ')}: Redis may evict queue keys and lose jobs`,
      fix: 'CONFIG SET maxmemory-policy noeviction on every node, and in redis.conf',
    });
  } else if (unreadable.length > 0) {
    checks.push({ name: 'redis eviction', level: 'warn', detail: `maxmemory-policy cannot be read on ${list(unreadable)} (CONFIG is disabled)`, fix: 'make sure the provider sets noeviction' });
  } else {
    checks.push({ name: 'redis eviction', level: 'ok', detail: `noeviction${where}` });
  }
  const persistent = (node: RedisNodeFacts) => node.appendOnly === 'yes' || (node.savePolicy !== undefined && node.savePolicy.trim() !== '');
  const volatile = inspected.filter((node) => !persistent(node));
  const persistence = (node: RedisNodeFacts) => (node.appendOnly === 'yes' ? `AOF on${node.appendFsync ? ` (appendfsync ${node.appendFsync})` : ''}` : `RDB snapshots (${node.savePolicy})`);
  checks.push(
    volatile.length > 0
      ? { name: 'redis persistence', level: 'warn', detail: `neither AOF nor RDB snapshots on ${list(volatile)}: queued jobs are lost when it restarts`, fix: 'appendonly yes' }
      : { name: 'redis persistence', level: 'ok', detail: [...new Set(inspected.map(persistence))].join('; ') + where },
  );
  return checks;
}

export function doctorExitCode(checks: DoctorCheck[]): number {
  return checks.some((check) => check.level === 'fail') ? 1 : 0;
}
