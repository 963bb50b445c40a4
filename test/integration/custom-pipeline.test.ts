import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/contracts/queues';
import type { LeakCheckResult } from '../../src/contracts/leak-check';
import type { RagQueryResult } from '../../src/contracts/rag-query';
import { definePipeline, loadConfig, RagscopeProducer, startWorker } from '../../src/index';
import { logTraceId } from '../../src/log';
import { startLocalIntake, type LocalIntake } from '../../src/telemetry/intake/intake-server';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, runCli, startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes';
import { deletePrefix, openTestQueue, type TestQueue } from '../helpers/redis';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/pipelines');
const fixture = (name: string): string => path.relative(REPO_ROOT, path.join(FIXTURES, name));

/** A user mistake at start-up: exit 1, one line on stderr that names the module, no stack trace. */
function expectOneLineError(run: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(1);
  const lines = run.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
}

describe('ragscope worker --pipeline with a bad module', () => {
  const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: uniquePrefix('badmodule'), DD_TRACE_ENABLED: 'false' };

  it('a missing file names the path and what was expected', async () => {
    const run = await runCli(['worker', '--pipeline', './no/such-pipeline.js'], env);
    expectOneLineError(run, /^error: pipeline module \.\/no\/such-pipeline\.js not found \(looked for .*such-pipeline\.js\): expected a compiled JavaScript module .*definePipeline\(\)/);
  });

  it('a module that throws while loading gives its error, not a stack', async () => {
    const run = await runCli(['worker', '--pipeline', fixture('throws-on-load.cjs')], env);
    expectOneLineError(run, /^error: pipeline module test\/fixtures\/pipelines\/throws-on-load\.cjs threw while loading \(Error: cannot reach the vector index at startup\): expected /);
  });

  it('a module without a definePipeline() export says what it found (RAGSCOPE_PIPELINE too)', async () => {
    const run = await runCli(['worker'], { ...env, RAGSCOPE_PIPELINE: fixture('wrong-export.cjs') });
    expectOneLineError(
      run,
      /^error: pipeline module test\/fixtures\/pipelines\/wrong-export\.cjs exports no pipeline \(found default export \(an object not made by definePipeline\(\)\).*\): expected .*default export, or export named "pipeline", is made by definePipeline\(\)/,
    );
  });
});

/**
 * A team's own pipeline (CommonJS, its own table through ctx.sql, two stages, a planted slow
 * function, a planted leak) under `ragscope worker --pipeline`, with every capability checked on
 * what the worker really produced: the job result, the exported spans, /metrics.
 */
describe('a custom pipeline under ragscope worker --pipeline', () => {
  const prefix = uniquePrefix('custompipe');
  let intake: LocalIntake;
  let worker: WorkerProcess;
  let testQueue: TestQueue;
  let metricsPort: number;

  beforeAll(async () => {
    intake = await startLocalIntake({ port: 0 });
    metricsPort = await freePort();
    testQueue = await openTestQueue(prefix);
    worker = await startWorkerProcess(
      {
        REDIS_URL,
        RAGSCOPE_QUEUE_PREFIX: prefix,
        DD_TRACE_AGENT_URL: intake.url,
        DD_TRACE_SAMPLE_RATE: '1',
        DD_PROFILING_CAPTURE_PCT: '0',
        RAGSCOPE_METRICS_PORT: String(metricsPort),
        RAGSCOPE_PROFILE_DIR: path.join(REPO_ROOT, '.ragscope', prefix),
        // The planted function takes hundreds of ms; an unplanted job a few.
        RAGSCOPE_PROFILE_SLOW_MS: '50',
        // This file checks what gets profiled, not the overhead cap (profiling-policy.test.ts does):
        // after the `always` profile, a few jobs' CPU put the cap within reach of the slow-job re-run.
        DD_PROFILING_MAX_TIME_USAGE_PCT: '100',
      },
      ['--pipeline', fixture('custom-pipeline.cjs'), '--concurrency', '1'],
    );
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
    await intake?.close();
  });

  const run = async (data: object): Promise<RagQueryResult> =>
    (await (await testQueue.queue.add('query', data)).waitUntilFinished(testQueue.events, 60_000)) as RagQueryResult;

  it('answers from the module, with its stages in the result and as rag.<stage> children of rag.job, its SQL as rag.sql spans', async () => {
    const result = await run({ query: 'which plan fits a small team?', userId: 'custom' });
    expect(result.answer).toMatch(/^from the custom module: answer number 5, answer number 505/);
    expect(result.answer).toMatch(/\(job \d+, score 0\)$/);
    expect(result.sources).toEqual([{ id: 'faq-5' }, { id: 'faq-505' }, { id: 'faq-1005' }, { id: 'faq-1505' }, { id: 'faq-2005' }]);
    expect(result).not.toHaveProperty('ignoredExtra');
    expect(result.stages.map((stage) => stage.name)).toEqual(['lookup', 'compose']);
    expect(result.findings).toBeUndefined();

    const spans = await waitFor(
      () => {
        const trace = intake.store.trace(result.traceId!);
        return ['rag.job', 'rag.lookup', 'rag.compose', 'rag.sql'].every((name) => trace.some((span) => span.name === name)) ? trace : undefined;
      },
      30_000,
      'the custom pipeline spans',
    );
    const job = spans.find((span) => span.name === 'rag.job')!;
    const lookup = spans.find((span) => span.name === 'rag.lookup')!;
    const sql = spans.find((span) => span.name === 'rag.sql')!;
    expect(lookup.parentId).toBe(job.spanId);
    expect(spans.find((span) => span.name === 'rag.compose')!.parentId).toBe(job.spanId);
    expect(lookup.meta['lookup.kind']).toBe('faq');
    expect(sql.parentId).toBe(lookup.spanId);
    expect(sql.type).toBe('sql');
    expect(sql.meta['db.statement']).toBe('SELECT id, answer FROM custom_faq WHERE category = $1 ORDER BY id LIMIT 5');
    // The module's log line (ctx.logger) carries the job's trace.
    const logLine = await waitFor(
      () =>
        worker
          .output()
          .split('\n')
          .find((line) => line.includes('custom pipeline answered') && line.includes(`"trace_id":"${logTraceId(result.traceId!)}"`)),
      10_000,
      'the pipeline log line',
    );
    expect(JSON.parse(logLine)).toMatchObject({ pipeline: 'custom-faq', rows: 5 });
  });

  it('a profiled job names the planted function of the module as the top hotspot, and EXPLAINs the ctx.sql statement with findings', async () => {
    // Warm runs first: a long-running worker has run the hot loop before (see the profiling test).
    for (let warm = 0; warm < 3; warm++) await run({ query: `warm-up ${warm}`, userId: 'warm', plantBottleneck: true, profile: 'never' });
    const result = await run({ query: 'profile me', userId: 'profiled', plantBottleneck: true, profile: 'always' });
    expect(result.profiling).toMatchObject({ profiled: true });
    expect(result.hotspots![0], JSON.stringify(result.hotspots)).toMatchObject({
      function: 'plantedSlowScoring',
      file: 'test/fixtures/pipelines/custom-pipeline.cjs',
    });
    expect(result.findings!.length, JSON.stringify(result.findings)).toBeGreaterThan(0);
    expect(result.findings!.some((finding) => finding.nodePath.includes('custom_faq')), JSON.stringify(result.findings)).toBe(true);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^ragscope_stage_duration_seconds_count\{stage="lookup"\} [1-9]/m);
    expect(metrics).toMatch(/^ragscope_stage_duration_seconds_count\{stage="compose"\} [1-9]/m);
  }, 120_000);

  it('a slow run of the module is remembered, and its next run is profiled on its own (profile: auto)', async () => {
    const data = { query: 'slow when planted', userId: 'auto', plantBottleneck: true };
    const first = await run(data);
    const second = await run(data);
    expect(first.profiling).toMatchObject({ profiled: false });
    expect(second.profiling).toMatchObject({ profiled: true, reason: 'an earlier run of this job was slow' });
    expect(second.hotspots!.map((hotspot) => hotspot.function)).toContain('plantedSlowScoring');
  }, 120_000);

  it('a wrong result shape and a throwing run fail their jobs with the reason; the worker goes on with the next job', async () => {
    const wrong = await testQueue.queue.add('query', { query: 'give me the wrong shape', userId: 'bad' });
    await expect(wrong.waitUntilFinished(testQueue.events, 60_000)).rejects.toThrow(
      'pipeline "custom-faq" returned an invalid result: answer: must be a string',
    );
    const throwing = await testQueue.queue.add('query', { query: 'throw please', userId: 'bad' });
    await expect(throwing.waitUntilFinished(testQueue.events, 60_000)).rejects.toThrow('the custom pipeline refused this query');
    const next = await run({ query: 'still there?', userId: 'after' });
    expect(next.answer).toMatch(/^from the custom module/);
    expect(worker.child.exitCode).toBeNull();
  });

  it("a leak check runs the module and names the module's own allocation site", async () => {
    const leakQueue = new Queue(QUEUES.leakCheck, { connection: testQueue.connection, prefix });
    const leakEvents = new QueueEvents(QUEUES.leakCheck, { connection: testQueue.connection.duplicate(), prefix });
    try {
      await leakEvents.waitUntilReady();
      const job = await leakQueue.add('leak-check', { iterations: 12, query: 'leak a little' });
      const result = (await job.waitUntilFinished(leakEvents, 90_000)) as LeakCheckResult;
      expect(result.samples).toHaveLength(12);
      expect(result.growthMb).toBeGreaterThan(5);
      expect(
        result.topGrowingSites.some((site) => site.function === 'retainForever' && site.file === 'test/fixtures/pipelines/custom-pipeline.cjs'),
        JSON.stringify(result.topGrowingSites),
      ).toBe(true);
    } finally {
      await leakEvents.close();
      await leakQueue.close();
    }
  }, 120_000);
});

describe('an ESM pipeline module', () => {
  const prefix = uniquePrefix('esmpipe');
  let worker: WorkerProcess;
  let testQueue: TestQueue;

  beforeAll(async () => {
    testQueue = await openTestQueue(prefix);
    worker = await startWorkerProcess({ REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false' }, ['--pipeline', fixture('esm-pipeline.mjs')]);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
  });

  it('loads its default export and runs it', async () => {
    const result = (await (await testQueue.queue.add('query', { query: 'hello', userId: 'esm' })).waitUntilFinished(testQueue.events, 60_000)) as RagQueryResult;
    expect(result.answer).toBe('esm says: hello');
    expect(result.sources).toEqual([{ id: 'echo', title: 'Echo', score: 1 }]);
    expect(result.stages.map((stage) => stage.name)).toEqual(['echo']);
  });
});

describe('startWorker and RagscopeProducer from the package root, without the CLI', () => {
  it('runs a definition object in this process and answers a job enqueued through the producer', async () => {
    const prefix = uniquePrefix('libapi');
    const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_LOG_LEVEL: 'silent' };
    const pipeline = definePipeline({
      name: 'in-process',
      setup: () => ({ prefix: 'in-process says' }),
      run: async (input, ctx) => {
        if (input.query === 'wait for shutdown') {
          // A long call that honours ctx.signal, as fetch(url, { signal: ctx.signal }) does.
          markStarted();
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          return { answer: `stopped early: aborted=${ctx.signal.aborted}`, sources: [] };
        }
        return ctx.stage('say', () => ({ answer: `${ctx.state.prefix} ${input.query} (attempt ${ctx.job.attempt})`, sources: [] }));
      },
    });
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const worker = await startWorker({ pipeline, env, queues: [QUEUES.ragQuery] });
    const producer = new RagscopeProducer(loadConfig(env));
    try {
      const { jobId } = await producer.enqueueQuery({ query: 'hello', userId: 'library' });
      const result = await producer.waitForQueryResult(jobId, 30_000);
      expect(result.answer).toBe('in-process says hello (attempt 1)');
      expect(result.stages.map((stage) => stage.name)).toEqual(['say']);

      // Shutdown aborts ctx.signal first, then waits for the active job, which ends early.
      const waiting = await producer.enqueueQuery({ query: 'wait for shutdown', userId: 'library' });
      await started;
      const stopped = worker.close();
      const outcome = await producer.waitForQueryResult(waiting.jobId, 30_000);
      expect(outcome.answer).toBe('stopped early: aborted=true');
      await stopped;
    } finally {
      await producer.close();
      await worker.close();
      await deletePrefix(prefix);
    }
  });
});

describe('a TypeScript pipeline built with source maps', () => {
  const prefix = uniquePrefix('tspipe');
  const buildDir = path.join(REPO_ROOT, '.ragscope', prefix);
  const source = path.join(FIXTURES, 'typescript/ts-pipeline.ts');
  let worker: WorkerProcess;
  let testQueue: TestQueue;

  beforeAll(async () => {
    // As its team would build it: tsc with source maps, against the built package's declarations.
    await promisify(execFile)(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '--outDir', buildDir, '--rootDir', path.dirname(source), '--sourceMap', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', '--skipLibCheck', '--strict', source],
      { cwd: REPO_ROOT },
    );
    testQueue = await openTestQueue(prefix);
    worker = await startWorkerProcess(
      { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', DD_PROFILING_CAPTURE_PCT: '0', RAGSCOPE_PROFILE_DIR: buildDir },
      ['--pipeline', path.join(buildDir, 'ts-pipeline.js'), '--concurrency', '1'],
    );
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await testQueue?.close();
    rmSync(buildDir, { recursive: true, force: true });
  });

  it('names the slow function with a line of the .ts source, not of the compiled JavaScript', async () => {
    const lines = readFileSync(source, 'utf8').split('\n');
    const first = lines.findIndex((line) => line.startsWith('export function typedSlowScoring(')) + 1;
    const last = lines.findIndex((line, index) => index >= first && line === '}') + 1;
    const ask = async (data: object) => (await (await testQueue.queue.add('query', data)).waitUntilFinished(testQueue.events, 60_000)) as RagQueryResult;
    for (let warm = 0; warm < 3; warm++) await ask({ query: `warm ${warm}`, userId: 'warm', plantBottleneck: true, profile: 'never' });
    const result = await ask({ query: 'typed', userId: 'ts', plantBottleneck: true, profile: 'always' });
    expect(result.answer).toMatch(/^typed answer \d+$/);
    const top = result.hotspots![0]!;
    expect(top, JSON.stringify(result.hotspots)).toMatchObject({ function: 'typedSlowScoring', file: 'test/fixtures/pipelines/typescript/ts-pipeline.ts' });
    expect(top.line).toBeGreaterThanOrEqual(first);
    expect(top.line).toBeLessThanOrEqual(last);
  }, 120_000);
});
