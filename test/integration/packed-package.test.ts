import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagQueryResult } from '../../src/contracts/rag-query';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import { REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, startProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { openTestQueue, type TestQueue } from '../helpers/redis';

const run = promisify(execFile);
const EXAMPLE_DIR = path.join(REPO_ROOT, 'examples/custom-pipeline');

/**
 * A team's pipeline module, written the way the README's "Your own pipeline" section says, with
 * nothing but the package's documented API, and a planted slow function of its own.
 */
const TEAM_PIPELINE = `const { definePipeline } = require('ragscope');

function teamSlowRanker(seed) {
  let accumulator = seed;
  for (let index = 0; index < 40000000; index++) accumulator = (accumulator * 1103515245 + 12345) % 2147483647;
  return accumulator;
}

module.exports = definePipeline({
  name: 'team-pipeline',
  setup: () => ({ corpus: ['alpha guide', 'beta handbook', 'gamma faq'] }),
  async run(input, ctx) {
    const hits = await ctx.stage('team_search', { 'search.corpus': ctx.state.corpus.length }, () =>
      ctx.state.corpus.filter((title) => title.split(' ').some((word) => input.query.includes(word))),
    );
    const checksum = await ctx.stage('team_rank', () => (input.plantBottleneck ? teamSlowRanker(hits.length) : 0));
    return {
      answer: 'team-pipeline answered ' + JSON.stringify(input.query) + ' with ' + hits.length + ' hit(s), checksum ' + checksum,
      sources: hits.map((title) => ({ id: title.replace(/ /g, '-'), title })),
    };
  },
});
`;

/**
 * `npm pack` → install the tarball into a fresh directory outside the repository (dependencies
 * from the npm registry or its cache) → `npx ragscope worker --pipeline ./team-pipeline.js`:
 * ragscope as a team adopts it, not as its repository runs it.
 */
describe('the packed package, installed outside the repository', () => {
  const prefix = uniquePrefix('packed');
  let installDir: string;
  let tarball: string;
  let intake: LocalIntake;
  let testQueue: TestQueue;
  const workers: WorkerProcess[] = [];
  let llm: Server;
  let llmUrl: string;
  const llmRequests: Array<{ model: string; messages: Array<{ role: string; content: string }>; authorization?: string }> = [];

  const workerEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL,
    RAGSCOPE_QUEUE_PREFIX: prefix,
    DD_TRACE_AGENT_URL: intake.url,
    DD_TRACE_SAMPLE_RATE: '1',
    DD_PROFILING_CAPTURE_PCT: '0',
    RAGSCOPE_PROFILE_DIR: path.join(installDir, 'profiles'),
    ...extra,
  });

  beforeAll(async () => {
    installDir = mkdtempSync(path.join(os.tmpdir(), 'ragscope-packed-'));
    // The build is what the tarball ships: `npm test` builds first; no prepare script on pack.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', installDir], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    const [summary] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    tarball = path.join(installDir, summary!.filename);
    writeFileSync(path.join(installDir, 'package.json'), JSON.stringify({ name: 'team-rag', version: '1.0.0', private: true }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', tarball], {
      cwd: installDir,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    writeFileSync(path.join(installDir, 'team-pipeline.js'), TEAM_PIPELINE);
    copyFileSync(path.join(EXAMPLE_DIR, 'pipeline.js'), path.join(installDir, 'example-pipeline.js'));
    copyFileSync(path.join(EXAMPLE_DIR, 'articles.json'), path.join(installDir, 'articles.json'));

    intake = await startLocalIntake({ port: 0 });
    testQueue = await openTestQueue(prefix);
    llm = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        llmRequests.push({ ...(JSON.parse(body) as { model: string; messages: Array<{ role: string; content: string }> }), authorization: request.headers.authorization });
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: ' Returns are accepted within 30 days [returns-window]. ' } }] }));
      });
    });
    await new Promise<void>((resolve) => llm.listen(0, '127.0.0.1', resolve));
    llmUrl = `http://127.0.0.1:${(llm.address() as { port: number }).port}/v1`;
  }, 900_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await testQueue?.close();
    await intake?.close();
    await new Promise((resolve) => llm?.close(resolve));
    if (installDir) rmSync(installDir, { recursive: true, force: true });
  });

  const startInstalledWorker = async (module: string, env: Record<string, string>): Promise<WorkerProcess> => {
    const worker = await startProcess('npx', ['--no', 'ragscope', 'worker', '--pipeline', module, '--concurrency', '1'], { cwd: installDir, env, processGroup: true }, '"worker ready"');
    workers.push(worker);
    return worker;
  };

  const stopWorkers = async (): Promise<void> => {
    for (const worker of workers.splice(0)) await worker.stop();
  };

  const ask = async (data: object): Promise<RagQueryResult> =>
    (await (await testQueue.queue.add('query', data)).waitUntilFinished(testQueue.events, 90_000)) as RagQueryResult;

  it('ships dist, type declarations, the CLI and the sample corpus, and no tests or TypeScript sources', async () => {
    const listing = await run('tar', ['-tzf', tarball], { maxBuffer: 64 * 1024 * 1024 });
    const files = listing.stdout.split('\n').filter(Boolean);
    for (const file of ['package/package.json', 'package/dist/src/index.js', 'package/dist/src/index.d.ts', 'package/dist/src/cli/main.js', 'package/dist/src/pipeline/corpus/documents.json', 'package/dist/src/pipeline/sample-pipeline.js']) {
      expect(files, file).toContain(file);
    }
    const unwanted = files.filter((file) => /^package\/(test|bench|scripts|src|examples)\//.test(file) || (file.endsWith('.ts') && !file.endsWith('.d.ts')));
    expect(unwanted).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(installDir, 'node_modules/ragscope/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin.ragscope).toBe('dist/src/cli/main.js');
  });

  it('runs a pipeline module written with the documented API: its answer, its slow function as the top hotspot, its stage spans in the trace', async () => {
    await startInstalledWorker('./team-pipeline.js', workerEnv());
    // Warm runs first: a long-running worker has run the hot loop before (see the profiling test).
    for (let warm = 0; warm < 3; warm++) await ask({ query: `alpha warm-up ${warm}`, userId: 'warm', plantBottleneck: true, profile: 'never' });
    const result = await ask({ query: 'where is the alpha guide?', userId: 'team', plantBottleneck: true, profile: 'always' });

    expect(result.answer).toMatch(/^team-pipeline answered "where is the alpha guide\?" with 1 hit\(s\), checksum \d+$/);
    expect(result.sources).toEqual([{ id: 'alpha-guide', title: 'alpha guide' }]);
    expect(result.stages.map((stage) => stage.name)).toEqual(['team_search', 'team_rank']);
    expect(result.profiling).toMatchObject({ profiled: true });
    expect(result.hotspots![0], JSON.stringify(result.hotspots)).toMatchObject({ function: 'teamSlowRanker', file: 'team-pipeline.js' });

    const spans = await waitFor(
      () => {
        const trace = intake.store.trace(result.traceId!);
        return ['rag.job', 'rag.team_search', 'rag.team_rank'].every((name) => trace.some((span) => span.name === name)) ? trace : undefined;
      },
      30_000,
      "the team pipeline's spans",
    );
    const job = spans.find((span) => span.name === 'rag.job')!;
    for (const stage of ['rag.team_search', 'rag.team_rank']) expect(spans.find((span) => span.name === stage)!.parentId, stage).toBe(job.spanId);
    expect(job.meta['profiling.top_line']).toMatch(/^team-pipeline\.js:\d+$/);
    await stopWorkers();
  }, 300_000);

  it('runs examples/custom-pipeline: its own table through ctx.sql, an extractive answer without LLM_BASE_URL, chat-completions with it', async () => {
    await startInstalledWorker('./example-pipeline.js', workerEnv());
    const extractive = await ask({ query: 'How many days do I have to return an order?', userId: 'example', profile: 'always' });
    expect(extractive.answer).toMatch(/30 days of delivery\. \[returns-window\]/);
    expect(extractive.sources[0]).toMatchObject({ id: 'returns-window', title: 'Returning an order' });
    expect(extractive.stages.map((stage) => stage.name)).toEqual(['retrieve', 'rank', 'generate']);
    // Its SQL was EXPLAINed in the profiled job (8 rows: whether a rule fires is not the point here).
    expect(Array.isArray(extractive.findings)).toBe(true);
    const spans = await waitFor(
      () => {
        const trace = intake.store.trace(extractive.traceId!);
        return ['rag.sql', 'sql.explain', 'rag.generate'].every((name) => trace.some((span) => span.name === name)) ? trace : undefined;
      },
      30_000,
      "the example's spans",
    );
    expect(spans.find((span) => span.name === 'rag.sql')!.meta['db.statement']).toMatch(/^SELECT id, title, body FROM support_articles/);
    // The plan, taken after the profile stopped, in a span of its own.
    const explain = spans.find((span) => span.name === 'sql.explain')!;
    expect(explain.meta['db.statement']).toMatch(/^SELECT id, title, body FROM support_articles/);
    expect(explain.meta['db.plan.node_type']).toEqual(expect.any(String));
    await stopWorkers();

    await startInstalledWorker('./example-pipeline.js', workerEnv({ LLM_BASE_URL: llmUrl, LLM_API_KEY: 'sk-test-secret', LLM_MODEL: 'tiny-model' }));
    const generated = await ask({ query: 'How many days do I have to return an order?', userId: 'example' });
    expect(generated.answer).toBe('Returns are accepted within 30 days [returns-window].');
    expect(llmRequests).toHaveLength(1);
    expect(llmRequests[0]).toMatchObject({ model: 'tiny-model', authorization: 'Bearer sk-test-secret' });
    expect(llmRequests[0]!.messages.at(-1)!.content).toContain('[returns-window] Returning an order');
    expect(workers[0]!.output()).not.toContain('sk-test-secret');
    await stopWorkers();
  }, 300_000);
});
