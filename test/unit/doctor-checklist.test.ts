import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { doctorChecklist, doctorExitCode, type DoctorFacts } from '../../src/doctor/checklist';
import type { RedisNodeFacts, RedisTopology } from '../../src/queue/topology';

const healthy: DoctorFacts = {
  config: loadConfig({}),
  agent: { kind: 'datadog-agent', detail: 'Datadog agent 7.60 at http://agent:8126' },
  testSpan: { accepted: true, detail: 'accepted' },
  redis: { reachable: true, detail: 'Redis 7', topology: single({ evictionPolicy: 'noeviction', appendOnly: 'yes', appendFsync: 'everysec', savePolicy: '' }) },
  postgres: { reachable: true, detail: 'PostgreSQL 16' },
  observedJobsPerHour: 1000,
};

function single(node: Partial<RedisNodeFacts>): RedisTopology {
  return { kind: 'single', summary: 'single server', nodes: [{ address: 'redis:6379', role: 'primary', ...node }] };
}

const safeNode: Omit<RedisNodeFacts, 'address' | 'role'> = { evictionPolicy: 'noeviction', appendOnly: 'yes', appendFsync: 'everysec', savePolicy: '' };
const node = (address: string, role: RedisNodeFacts['role'], facts: Partial<RedisNodeFacts> = {}): RedisNodeFacts => ({ address, role, ...safeNode, ...facts });
const sentinel = (sentinelsAnswering: number, nodes: RedisNodeFacts[]): DoctorFacts => ({
  ...healthy,
  redis: { reachable: true, detail: 'Redis 7', topology: { kind: 'sentinel', summary: 'Sentinel', sentinelsAnswering, nodes } },
});
const cluster = (nodes: RedisNodeFacts[]): DoctorFacts => ({
  ...healthy,
  redis: { reachable: true, detail: 'Redis 7', topology: { kind: 'cluster', summary: 'Cluster', nodes } },
});

const levelOf = (facts: DoctorFacts, name: string) => doctorChecklist(facts).find((check) => check.name === name)?.level;

describe('doctorChecklist', () => {
  it('passes a production-ready set-up with every check ✅', () => {
    const checks = doctorChecklist(healthy);
    expect(checks.map((check) => check.level)).toEqual(checks.map(() => 'ok'));
    expect(checks.map((check) => check.name)).toEqual([
      'configuration', 'trace sampling', 'profiling capture', 'profiling overhead cap', 'trace destination', 'test span',
      'redis', 'redis eviction', 'redis persistence', 'postgresql', 'budget alerts',
    ]);
    expect(doctorExitCode(checks)).toBe(0);
  });

  it.each<[string, DoctorFacts, string, string]>([
    ['trace rate above 10%', { ...healthy, config: loadConfig({ DD_TRACE_SAMPLE_RATE: '0.5' }) }, 'trace sampling', 'warn'],
    ['profiling above 1%', { ...healthy, config: loadConfig({ DD_PROFILING_CAPTURE_PCT: '5' }) }, 'profiling capture', 'warn'],
    ['no overhead cap', { ...healthy, config: loadConfig({ DD_PROFILING_MAX_TIME_USAGE_PCT: '0' }) }, 'profiling overhead cap', 'warn'],
    ['no agent', { ...healthy, agent: { kind: 'none', detail: 'nothing' }, testSpan: { accepted: false, detail: 'x' } }, 'trace destination', 'warn'],
    ['agent refuses the span', { ...healthy, testSpan: { accepted: false, detail: 'HTTP 400' } }, 'test span', 'fail'],
    ['local intake', { ...healthy, agent: { kind: 'ragscope-intake', detail: 'intake' } }, 'trace destination', 'ok'],
    ['redis down', { ...healthy, redis: { reachable: false, detail: 'ECONNREFUSED' } }, 'redis', 'fail'],
    ['eviction allowed', { ...healthy, redis: { ...healthy.redis!, topology: single({ evictionPolicy: 'allkeys-lru', appendOnly: 'yes' }) } }, 'redis eviction', 'fail'],
    ['eviction unreadable', { ...healthy, redis: { ...healthy.redis!, topology: single({ appendOnly: 'yes' }) } }, 'redis eviction', 'warn'],
    ['no persistence', { ...healthy, redis: { ...healthy.redis!, topology: single({ evictionPolicy: 'noeviction', appendOnly: 'no', savePolicy: '' }) } }, 'redis persistence', 'warn'],
    ['RDB only', { ...healthy, redis: { ...healthy.redis!, topology: single({ evictionPolicy: 'noeviction', appendOnly: 'no', savePolicy: '3600 1' }) } }, 'redis persistence', 'ok'],
    ['Sentinel with three sentinels and a replica', sentinel(3, [node('a:1', 'primary'), node('b:1', 'replica')]), 'redis topology', 'ok'],
    ['Sentinel with two sentinels answering', sentinel(2, [node('a:1', 'primary'), node('b:1', 'replica')]), 'redis topology', 'warn'],
    ['Sentinel without a replica', sentinel(3, [node('a:1', 'primary')]), 'redis topology', 'warn'],
    ['a replica that evicts', sentinel(3, [node('a:1', 'primary'), node('b:1', 'replica', { evictionPolicy: 'volatile-lru' })]), 'redis eviction', 'fail'],
    ['a Cluster primary without persistence', cluster([node('a:1', 'primary'), node('b:1', 'primary', { appendOnly: 'no', savePolicy: '' }), node('c:1', 'replica')]), 'redis persistence', 'warn'],
    ['a Cluster without replicas', cluster([node('a:1', 'primary'), node('b:1', 'primary'), node('c:1', 'primary')]), 'redis topology', 'warn'],
    ['a node doctor cannot reach', cluster([node('a:1', 'primary'), node('c:1', 'replica'), { address: 'b:1', role: 'primary', error: 'ECONNREFUSED' }]), 'redis nodes', 'warn'],
    ['postgres down', { ...healthy, postgres: { reachable: false, detail: 'timeout' } }, 'postgresql', 'fail'],
    ['budget reached', { ...healthy, observedJobsPerHour: 1_000_000 }, 'budget alerts', 'warn'],
    ['no budgets', { ...healthy, config: { ...loadConfig({}), sampling: { ...loadConfig({}).sampling, budgetAlertsUsd: [] } } }, 'budget alerts', 'warn'],
  ])('%s', (_label, facts, name, level) => {
    expect(levelOf(facts, name)).toBe(level);
    const check = doctorChecklist(facts).find((entry) => entry.name === name)!;
    if (level !== 'ok') expect(check.fix).toBeTruthy();
    expect(doctorExitCode(doctorChecklist(facts))).toBe(level === 'fail' ? 1 : 0);
  });

  it('stops at an invalid configuration with ❌', () => {
    const checks = doctorChecklist({ configError: 'invalid configuration: REDIS_URL="x"' });
    expect(checks).toEqual([expect.objectContaining({ name: 'configuration', level: 'fail' })]);
    expect(doctorExitCode(checks)).toBe(1);
  });
});
