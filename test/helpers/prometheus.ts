import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './env';
import { waitFor } from './processes';

export interface PrometheusServer {
  url: string;
  /** An instant query through the HTTP API; throws with Prometheus' own error when it is refused. */
  query<T = PrometheusVectorSample[]>(expr: string): Promise<T>;
  /** GET any API path (e.g. `/api/v1/targets`) and return `data`. */
  api<T>(pathAndQuery: string): Promise<T>;
  output(): string;
  stop(): Promise<void>;
}

export interface PrometheusVectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface StartPrometheusOptions {
  /** Scrape job name → `host:port` targets (each serves `/metrics`). */
  jobs: Record<string, string[]>;
  ruleFiles?: string[];
  /** Scrape and rule-evaluation period (default 1s: tests cannot wait Prometheus' usual 15 s). */
  intervalSeconds?: number;
}

/**
 * The real Prometheus server (Debian's package) on a free loopback port, with a scrape config
 * generated for the processes a test started and its own throw-away TSDB directory.
 */
export async function startPrometheus(binary: string, options: StartPrometheusOptions): Promise<PrometheusServer> {
  const directory = mkdtempSync(path.join(tmpdir(), 'ragscope-prometheus-'));
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: Object.entries(options.jobs).map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] })),
  };
  const configFile = path.join(directory, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${pathAndQuery}: ${body.errorType}: ${body.error}`);
    return body.data;
  };
  const server: PrometheusServer = {
    url,
    api,
    query: async <T>(expr: string) => (await api<{ result: T }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
        const ready = await fetch(`${url}/-/ready`).then((response) => response.ok, () => false);
        return ready ? true : undefined;
      },
      60_000,
      `Prometheus to be ready at ${url}`,
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
