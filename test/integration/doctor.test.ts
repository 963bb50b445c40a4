import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import { freePort, REDIS_URL, TEST_DATABASE_URL } from '../helpers/env';
import { runCli } from '../helpers/processes';

interface DoctorOutput {
  ok: boolean;
  checks: Array<{ name: string; level: string; detail: string }>;
}

describe('ragscope doctor', () => {
  let intake: LocalIntake;
  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
  });
  afterAll(async () => {
    await intake?.close();
  });

  const doctor = async (env: Record<string, string>) => {
    const run = await runCli(['doctor', '--json'], env);
    return { code: run.code, output: JSON.parse(run.stdout) as DoctorOutput };
  };
  const level = (output: DoctorOutput, name: string) => output.checks.find((check) => check.name === name)?.level;

  it('sends a real test span to the intake and checks the real Redis and PostgreSQL', async () => {
    const { code, output } = await doctor({ REDIS_URL, DD_TRACE_AGENT_URL: intake.url, DATABASE_URL: TEST_DATABASE_URL });
    expect(code).toBe(0);
    expect(level(output, 'trace destination')).toBe('ok');
    expect(level(output, 'test span')).toBe('ok');
    expect(intake.store.allSpans().some((span) => span.name === 'ragscope.doctor')).toBe(true);
    expect(level(output, 'redis')).toBe('ok');
    expect(level(output, 'postgresql')).toBe('ok');
    expect(output.checks.find((check) => check.name === 'postgresql')!.detail).toMatch(/^PostgreSQL \d+/);
  });

  it('exits 1 with ❌ when Redis is down', async () => {
    const { code, output } = await doctor({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, DD_TRACE_AGENT_URL: intake.url });
    expect(code).toBe(1);
    expect(output.ok).toBe(false);
    expect(level(output, 'redis')).toBe('fail');
  });

  it('prints ✅/⚠️/❌ lines with fixes for people', async () => {
    const run = await runCli(['doctor'], { REDIS_URL, DD_TRACE_AGENT_URL: `http://127.0.0.1:${await freePort()}`, DD_TRACE_SAMPLE_RATE: '0.5' });
    expect(run.stdout).toMatch(/^✅ configuration/m);
    expect(run.stdout).toMatch(/^⚠️ {2}trace sampling: 50% of traces is above the production-safe 10%/m);
    expect(run.stdout).toMatch(/^ {3}fix: DD_TRACE_SAMPLE_RATE=0\.1$/m);
  });
});
