import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** docker-compose.yml cannot run here (no Docker engine), so its shape is checked as data. */
const compose = parse(readFileSync(path.join(__dirname, '../../docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; ports?: string[] }>;
};

describe('docker-compose.yml', () => {
  it('has the production shape: redis, postgres, the Datadog agent, serve, worker and scheduler', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['datadog-agent', 'postgres', 'redis', 'scheduler', 'serve', 'worker']);
  });

  it('runs Redis with AOF and noeviction, so a full Redis refuses writes instead of evicting jobs', () => {
    const command = compose.services.redis!.command!.join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
  });

  it('gives every ragscope process Redis, PostgreSQL and the agent, started in order', () => {
    for (const name of ['serve', 'worker', 'scheduler']) {
      const service = compose.services[name]!;
      expect(service.command!.join(' '), name).toContain(`ragscope -- ${name}`);
      expect(service.environment, name).toMatchObject({ REDIS_URL: 'redis://redis:6379', DD_AGENT_HOST: 'datadog-agent' });
      expect(service.environment!.DATABASE_URL, name).toMatch(/^postgres:\/\/.+@postgres:5432\//);
      expect(service.depends_on, name).toMatchObject({ redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
    }
  });

  it('requires the API key and the server credentials from the environment, and health-checks the services', () => {
    expect(compose.services['datadog-agent']!.environment!.DD_API_KEY).toMatch(/^\$\{DD_API_KEY:\?/);
    expect(compose.services['datadog-agent']!.environment!.DD_APM_ENABLED).toBe('true');
    expect(compose.services.serve!.environment!.RAGSCOPE_API_TOKEN).toMatch(/:\?/);
    expect(compose.services.serve!.environment!.RAGSCOPE_ADMIN_PASSWORD).toMatch(/:\?/);
    for (const name of ['redis', 'postgres', 'datadog-agent', 'serve']) expect(compose.services[name]!.healthcheck, name).toBeDefined();
  });
});
