import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config';
import { listSettings } from '../../src/config/setting';
import { settings } from '../../src/config/settings';

const ROOT = path.join(__dirname, '../..');
const readYaml = <T>(file: string): T => parse(readFileSync(path.join(ROOT, file), 'utf8'), { merge: true }) as T;

interface Service {
  image?: string;
  profiles?: string[];
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  ports?: string[];
  volumes?: string[];
}

/** docker-compose.yml cannot run here (no Docker engine), so its shape is checked as data. */
const compose = readYaml<{ services: Record<string, Service> }>('docker-compose.yml');
const services = compose.services;
const RAGSCOPE = { datadog: ['serve', 'worker', 'scheduler'], oss: ['serve-oss', 'worker-oss', 'scheduler-oss'], sentinel: ['serve-sentinel', 'worker-sentinel', 'scheduler-sentinel'] };
const role = (name: string) => name.replace(/-(oss|sentinel)$/, '');

/**
 * The environment a container would get, with each `${VAR…}` the user supplies filled in: empty
 * where a default of nothing applies (`:-}`), else a plausible secret.
 */
function containerEnvironment(service: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, value.includes('${') ? (value.includes(':-}') ? '' : 'x'.repeat(16)) : value]),
  );
}

/** `./host/path:/container/path[:ro]` mounts of a service, host paths relative to the repository. */
function mounts(service: Service): Array<{ host: string; container: string }> {
  return (service.volumes ?? [])
    .filter((volume) => volume.startsWith('./') || volume.startsWith('.:'))
    .map((volume) => {
      const [host, container] = volume.split(':');
      return { host: host!, container: container! };
    });
}

/** The container path `file` (repository-relative) is seen at, through the service's mounts. */
function containerPath(service: Service, file: string): string | undefined {
  for (const { host, container } of mounts(service)) {
    const hostPath = path.normalize(host);
    if (hostPath === path.normalize(file)) return container;
    if (path.normalize(file).startsWith(`${hostPath}/`) || hostPath === '.') return path.posix.join(container, path.relative(hostPath, file));
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  it('runs Redis and PostgreSQL always, and one profile per telemetry destination: datadog and oss', () => {
    const byProfile = (profile?: string) =>
      Object.entries(services)
        .filter(([, service]) => (profile ? service.profiles?.includes(profile) : !service.profiles))
        .map(([name]) => name)
        .sort();
    expect(byProfile()).toEqual(['postgres', 'redis']);
    expect(byProfile('datadog')).toEqual(['datadog-agent', ...RAGSCOPE.datadog].sort());
    expect(byProfile('oss')).toEqual(['grafana', 'prometheus', 'tempo', ...RAGSCOPE.oss].sort());
    expect(byProfile('sentinel')).toEqual(['redis-primary', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3', ...RAGSCOPE.sentinel].sort());
  });

  it('runs the sentinel profile as one primary, one replica and three sentinels, ragscope asking the sentinels', () => {
    const conf = readFileSync(path.join(ROOT, 'deploy/redis/sentinel.conf'), 'utf8');
    const monitor = /^sentinel monitor (\S+) (\S+) (\d+) (\d+)$/m.exec(conf)!;
    const [, group, primaryHost, primaryPort, quorum] = monitor;
    expect(primaryHost).toBe('redis-primary');
    expect(quorum).toBe('2');
    expect(conf).toMatch(/^sentinel resolve-hostnames yes$/m);
    const sentinelPort = /^port (\d+)$/m.exec(conf)![1];
    const sentinels = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
    for (const name of sentinels) {
      const command = services[name]!.command!.join(' ');
      expect(command, name).toMatch(/--sentinel$/);
      // Sentinel rewrites its config file, so it runs from a writable copy of the mounted one.
      expect(command, name).toContain(`cp ${containerPath(services[name]!, 'deploy/redis/sentinel.conf')} /tmp/sentinel.conf`);
    }
    const replica = services['redis-replica']!.command!.join(' ');
    expect(replica).toContain(`--replicaof ${primaryHost} ${primaryPort}`);
    // Either server may be the primary after a failover: both carry the safe settings.
    for (const name of ['redis-primary', 'redis-replica']) {
      const command = services[name]!.command!.join(' ');
      for (const flag of ['--appendonly yes', '--appendfsync always', '--maxmemory-policy noeviction', '--min-replicas-to-write 1']) expect(command, name).toContain(flag);
    }
    const known = new Set(listSettings(settings).map((setting) => setting.env));
    for (const name of RAGSCOPE.sentinel) {
      const service = services[name]!;
      expect(service.command!.join(' '), name).toContain(`ragscope -- ${role(name)}`);
      expect(service.environment, name).not.toHaveProperty('REDIS_URL');
      for (const variable of Object.keys(service.environment!)) expect(known.has(variable), `${name}: ${variable} is not a ragscope setting`).toBe(true);
      const config = loadConfig(containerEnvironment(service));
      expect(config.redis, name).toEqual({
        kind: 'sentinel',
        sentinels: sentinels.map((host) => ({ host, port: Number(sentinelPort) })),
        name: group,
        tls: false,
        sentinelPassword: undefined,
        username: undefined,
        password: undefined,
      });
      expect(config.enqueueWaitReplicas, name).toBe(1);
      for (const sentinel of sentinels) expect(service.depends_on, name).toHaveProperty(sentinel);
    }
  });

  it('runs Redis with AOF and noeviction, so a full Redis refuses writes instead of evicting jobs', () => {
    const command = services.redis!.command!.join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
  });

  it('gives every ragscope process Redis and PostgreSQL, started in order, with variables ragscope knows and accepts', () => {
    const known = new Set(listSettings(settings).map((setting) => setting.env));
    for (const name of [...RAGSCOPE.datadog, ...RAGSCOPE.oss]) {
      const service = services[name]!;
      expect(service.command!.join(' '), name).toContain(`ragscope -- ${role(name)}`);
      expect(service.environment, name).toMatchObject({ REDIS_URL: 'redis://redis:6379' });
      expect(service.environment!.DATABASE_URL, name).toMatch(/^postgres:\/\/.+@postgres:5432\//);
      expect(service.depends_on, name).toMatchObject({ redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
      for (const variable of Object.keys(service.environment!)) expect(known.has(variable), `${name}: ${variable} is not a ragscope setting`).toBe(true);
      expect(() => loadConfig(containerEnvironment(service)), name).not.toThrow();
    }
  });

  it('sends the datadog profile\u2019s spans and profiles to the agent', () => {
    for (const name of RAGSCOPE.datadog) {
      expect(services[name]!.environment, name).toMatchObject({ DD_AGENT_HOST: 'datadog-agent', DD_PROFILING_ENABLED: 'true' });
      expect(services[name]!.depends_on, name).toHaveProperty('datadog-agent');
    }
  });

  it('sends the oss profile\u2019s spans to Tempo over OTLP/HTTP protobuf, on the port Tempo receives on', () => {
    const tempo = services.tempo!;
    const tempoConfigPath = tempo.command!.find((argument) => argument.startsWith('-config.file='))!.split('=')[1];
    expect(containerPath(tempo, 'deploy/tempo/tempo.yml')).toBe(tempoConfigPath);
    const tempoConfig = readYaml<{ distributor: { receivers: { otlp: { protocols: { http: { endpoint: string } } } } } }>('deploy/tempo/tempo.yml');
    const receiverPort = tempoConfig.distributor.receivers.otlp.protocols.http.endpoint.split(':').pop();
    for (const name of RAGSCOPE.oss) {
      const environment = services[name]!.environment!;
      expect(environment.RAGSCOPE_TRACES_EXPORTER, name).toBe('otlp');
      expect(environment.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe(`http://tempo:${receiverPort}`);
      expect(loadConfig(containerEnvironment(services[name]!)).traces, name).toEqual({ exporter: 'otlp', otlpTracesUrl: `http://tempo:${receiverPort}/v1/traces` });
      expect(services[name]!.depends_on, name).toHaveProperty('tempo');
    }
  });

  it('has Prometheus load the alert rules and scrape every ragscope process where it listens', () => {
    const prometheus = services.prometheus!;
    const configPath = prometheus.command!.find((argument) => argument.startsWith('--config.file='))!.split('=')[1];
    expect(containerPath(prometheus, 'deploy/prometheus/prometheus.yml')).toBe(configPath);
    const config = readYaml<{
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    }>('deploy/prometheus/prometheus.yml');
    // Rule files resolve next to the config file, which is mounted with alerts.yml beside it.
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(containerPath(prometheus, 'deploy/prometheus/alerts.yml')).toBe(path.posix.join(path.posix.dirname(configPath!), 'alerts.yml'));

    const targets = Object.fromEntries(
      config.scrape_configs.map((job) => [
        job.job_name,
        [...(job.static_configs ?? []).flatMap((entry) => entry.targets), ...(job.dns_sd_configs ?? []).flatMap((entry) => entry.names.map((host) => `${host}:${entry.port}`))],
      ]),
    );
    expect(Object.keys(targets).sort()).toEqual(['ragscope-scheduler', 'ragscope-serve', 'ragscope-worker']);
    expect(targets['ragscope-serve']).toEqual(['serve-oss:8000']);
    expect(services['serve-oss']!.command!.join(' ')).toContain('--port 8000');
    for (const name of ['worker-oss', 'scheduler-oss']) {
      const environment = services[name]!.environment!;
      expect(targets[`ragscope-${role(name)}`], name).toEqual([`${name}:${environment.RAGSCOPE_METRICS_PORT}`]);
      // Loopback inside the container would be unreachable from Prometheus' container.
      expect(loadConfig(containerEnvironment(services[name]!)).metricsHost, name).toBe('0.0.0.0');
    }
  });

  it('has Grafana provision the dashboard and the data sources it refers to', () => {
    const grafana = services.grafana!;
    expect(containerPath(grafana, 'deploy/grafana/provisioning/datasources/ragscope.yml')).toBe('/etc/grafana/provisioning/datasources/ragscope.yml');
    const provider = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>('deploy/grafana/provisioning/dashboards/ragscope.yml').providers[0]!;
    expect(containerPath(grafana, 'deploy/grafana/provisioning/dashboards/ragscope.yml')).toBe('/etc/grafana/provisioning/dashboards/ragscope.yml');
    expect(path.posix.dirname(containerPath(grafana, 'deploy/grafana/ragscope.json')!)).toBe(provider.options.path);

    const datasources = readYaml<{ datasources: Array<{ uid: string; type: string; url: string }> }>('deploy/grafana/provisioning/datasources/ragscope.yml').datasources;
    const provisioned = new Map(datasources.map((source) => [source.uid, source]));
    const dashboard = readFileSync(path.join(ROOT, 'deploy/grafana/ragscope.json'), 'utf8');
    const used = [...dashboard.matchAll(/"datasource": \{\s*"type": "(\w+)",\s*"uid": "([\w-]+)"/g)].map(([, type, uid]) => ({ type, uid }));
    expect(used.length).toBeGreaterThan(10);
    for (const { type, uid } of used) {
      if (type === 'grafana') continue;
      expect(provisioned.get(uid!)?.type, `data source ${uid}`).toBe(type);
    }
    // Each data source points at a service of the same profile, on the port it serves.
    expect(provisioned.get('ragscope-prometheus')!.url).toBe('http://prometheus:9090');
    expect(provisioned.get('ragscope-tempo')!.url).toBe(`http://tempo:${readYaml<{ server: { http_listen_port: number } }>('deploy/tempo/tempo.yml').server.http_listen_port}`);
    for (const name of ['prometheus', 'tempo']) expect(grafana.depends_on, name).toHaveProperty(name);
  });

  it('mounts only files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const { host } of mounts(service)) expect(existsSync(path.join(ROOT, host)), `${name}: ${host}`).toBe(true);
    }
  });

  it('takes every secret from the environment, never a literal, and health-checks the services', () => {
    expect(services['datadog-agent']!.environment!.DD_API_KEY).toMatch(/^\$\{DD_API_KEY[:}]/);
    expect(services['datadog-agent']!.environment!.DD_APM_ENABLED).toBe('true');
    for (const name of ['serve', 'serve-oss']) {
      expect(services[name]!.environment!.RAGSCOPE_API_TOKEN, name).toMatch(/:\?/);
      expect(services[name]!.environment!.RAGSCOPE_ADMIN_PASSWORD, name).toMatch(/:\?/);
    }
    // Only the oss profile needs it, so it cannot be `:?` (compose interpolates every profile): Grafana refuses to start without it.
    expect(services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD/);
    expect(services.grafana!.entrypoint!.join(' ')).toContain('GF_SECURITY_ADMIN_PASSWORD');
    for (const name of ['redis', 'postgres', 'datadog-agent', 'serve', 'serve-oss', 'prometheus']) expect(services[name]!.healthcheck, name).toBeDefined();
  });
});
