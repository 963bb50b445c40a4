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
    expect(run.stdout.match(/^trace [0-9a-f]{32}  \d+ spans/gm)).toHaveLength(3);
    // Each retrieve's statement is a rag.sql span; only the profiled query's plan is a sql.explain span.
    expect(run.stdout.match(/^      rag\.sql /gm)).toHaveLength(3);
    expect(run.stdout.match(/^    sql\.explain /gm)).toHaveLength(1);
    expect(run.stdout).toMatch(/rerank\.algorithm=quadratic-dedupe/);
    expect(run.stdout).toMatch(/^rag\.enqueue .*\n  rag\.job .*\n    rag\.embed/m);
    // The profiled query names the planted function with its file:line among its hotspots, and its
    // SQL findings. Not necessarily first: the demo's worker is cold, and on a loaded machine garbage
    // collection or V8's tier-up can out-weigh it in one job (test/integration/profiling.test.ts
    // checks the ranking on a warm worker).
    const hotspots = /^hotspots \(self time\):\n((?: +[\d.]+%.*\n)+)/m.exec(run.stdout);
    expect(hotspots?.[1]).toMatch(/removeNearDuplicatesQuadratic {2}src\/pipeline\/rerank\.ts:\d+/);
    expect(run.stdout).toMatch(/^sql finding \[\w+\] [a-z-]+: /m);
    // Both leak checks, with and without the planted leak, and the scheduler's verdict.
    expect(run.stdout).toMatch(/^no leak: [\d.]+ KB\/iteration/m);
    expect(run.stdout).toMatch(/^leak: the heap grows [\d.]+ KB\/iteration[\s\S]*retainInLeakyCache {2}src\/pipeline\/leak-plant\.ts:\d+/m);
    expect(run.stdout).toMatch(/^── heap scheduler[^\n]*\n\S+: (LEAK SUSPECTED|ok) — /m);
    for (const path of ['/admin/queues', '/metrics', '/docs']) expect(run.stdout).toMatch(new RegExp(`http://127\\.0\\.0\\.1:\\d+${path}`));
  }, 120_000);
});
