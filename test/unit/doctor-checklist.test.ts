import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { doctorChecklist, doctorExitCode, type DoctorFacts } from '../../src/doctor/checklist';

const healthy: DoctorFacts = {
  config: loadConfig({}),
  agent: { kind: 'datadog-agent', detail: 'Datadog agent 7.60 at http://agent:8126' },
  testSpan: { accepted: true, detail: 'accepted' },
  redis: { reachable: true, detail: 'Redis 7', evictionPolicy: 'noeviction', appendOnly: 'yes', savePolicy: '' },
  postgres: { reachable: true, detail: 'PostgreSQL 16' },
  observedJobsPerHour: 1000,
};

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
    ['eviction allowed', { ...healthy, redis: { ...healthy.redis!, evictionPolicy: 'allkeys-lru' } }, 'redis eviction', 'fail'],
    ['no persistence', { ...healthy, redis: { ...healthy.redis!, appendOnly: 'no', savePolicy: '' } }, 'redis persistence', 'warn'],
    ['RDB only', { ...healthy, redis: { ...healthy.redis!, appendOnly: 'no', savePolicy: '3600 1' } }, 'redis persistence', 'ok'],
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
