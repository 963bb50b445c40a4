import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { REDIS_URL } from '../helpers/env';
import { REPO_ROOT } from '../helpers/processes';

/** `npm run demo` exactly as a newcomer runs it. */
describe('npm run demo', () => {
  it('prints answers, stage timings and a waterfall for each query, then exits 0', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL };
    delete env.DATABASE_URL;
    delete env.DD_TRACE_AGENT_URL;
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('npm', ['run', '-s', 'demo'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.match(/^answer: .*\[doc-\d{3}\]/gm)).toHaveLength(3);
    expect(run.stdout.match(/^stages: embed [\d.]+ ms \| retrieve [\d.]+ ms \| rerank [\d.]+ ms \| generate [\d.]+ ms$/gm)).toHaveLength(3);
    expect(run.stdout.match(/^trace [0-9a-f]{32}  6 spans/gm)).toHaveLength(3);
    expect(run.stdout).toMatch(/rerank\.algorithm=quadratic-dedupe/);
    expect(run.stdout).toMatch(/^rag\.enqueue .*\n  rag\.job .*\n    rag\.embed/m);
  }, 120_000);
});
