/**
 * Scale: real rag-query throughput and end-to-end latency with 1, 2 and 4 `ragscope worker`
 * processes, on a single Redis and on a 3-primary Redis Cluster, both started here on free loopback
 * ports with the same settings (no persistence, noeviction), in one run.
 *
 * Every (topology, worker count) has its own fleet of real worker processes (the CLI from dist/,
 * default concurrency, tracing and per-job profiling off, embedded PGlite each) on its own queue
 * prefix, started once and idle while another fleet runs. A batch enqueues `--jobs` rag-query jobs at
 * once through ragscope's producer and ends when all have completed; throughput and latency come
 * from the jobs' own timestamps (enqueued → taken → completed). A round runs every worker count
 * once, in a rotating order, and for each the two topologies back to back, which one first
 * alternating by round, so drift of this shared machine falls on both alike. During each batch the
 * CPU time of every Redis server and worker process is read from /proc: it says whether the bound
 * is Redis (one node's core) or the workers (the machine's cores).
 *
 * Reported: medians over rounds side by side, throughput ratios 2w/1w and 4w/1w and Cluster/single
 * as medians of per-round ratios with 95% bootstrap CIs. Exits 0 when every job of every batch
 * completed, 1 otherwise; servers and workers are stopped either way. Linux only (/proc).
 *
 *   npm run build && npx tsx bench/scale.ts [--rounds 8] [--jobs 1000] [--warmup 200]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { batchFigures, formatScaleReport, machineCpuTicks, summarise, TOPOLOGY_LABELS, type Batch, type Topology } from './scale-figures';
import { CLOCK_TICKS_PER_SECOND, cpuTicksOf } from './proc-cpu';
import { numberArgument } from './stats';
import { DEFAULTS, loadConfig } from '../src/config/config';
import { JOB_NAMES, QUEUES } from '../src/contracts/queues';
import { ragQueryDataSchema } from '../src/contracts/rag-query';
import { RagscopeProducer } from '../src/queue/producer';
import { redisBinaries, startCluster, startSingleRedis, type TestCluster, type TestRedis } from '../test/helpers/redis-topologies';

const CLI = path.join(__dirname, '..', 'dist/src/cli/main.js');
const ROUNDS = numberArgument('rounds', 8);
const JOBS = numberArgument('jobs', 1000);
const WARMUP_JOBS = numberArgument('warmup', 200);
const WORKER_COUNTS = [1, 2, 4] as const;
const TOPOLOGIES: readonly Topology[] = ['single', 'cluster'];
/** Against a hang only: a healthy batch takes seconds. */
const BATCH_TIMEOUT_MS = 300_000;
/** Worker processes loading PGlite at once; more than the cores only makes each slower. */
const START_PARALLELISM = 2;
const STOP_TIMEOUT_MS = 30_000;
/** A bound against a hang: a worker loads PGlite at start-up, seconds alone, far longer on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 180_000;

/** The worker processes of one topology and worker count, and the producer feeding their queue. */
interface Fleet {
  topology: Topology;
  workers: number;
  processes: ChildProcess[];
  producer: RagscopeProducer;
  redisPids: number[];
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function topologyEnv(topology: Topology, single: TestRedis, cluster: TestCluster): Record<string, string | undefined> {
  // Exactly one Redis variable: the bench's own servers, whatever this shell points at.
  const none = { REDIS_URL: undefined, REDIS_CLUSTER_NODES: undefined, REDIS_SENTINELS: undefined, REDIS_SENTINEL_NAME: undefined };
  return topology === 'single' ? { ...none, REDIS_URL: single.url } : { ...none, REDIS_CLUSTER_NODES: cluster.seeds };
}

/**
 * Runs `start` over `items`, at most `parallelism` at a time. After a failure nothing new starts, and
 * it rejects only once the starts under way have settled, so the caller can stop everything started.
 */
async function startLimited<T, R>(items: readonly T[], parallelism: number, start: (item: T) => Promise<R>, started: R[]): Promise<void> {
  const pending = [...items];
  const lanes = await Promise.allSettled(
    Array.from({ length: parallelism }, async () => {
      for (let item = pending.shift(); item !== undefined; item = pending.shift()) {
        try {
          started.push(await start(item));
        } catch (error) {
          pending.length = 0;
          throw error;
        }
      }
    }),
  );
  const failure = lanes.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
  if (failure) throw failure.reason;
}

/** Every worker process spawned, ready or not, so an interrupted start-up leaves none behind. */
const spawned = new Set<ChildProcess>();

/**
 * Starts `ragscope worker` from dist/, as a user runs it, and resolves once it logs that it is ready.
 * DATABASE_URL is dropped so every worker has its own embedded PGlite: the workers share Redis alone.
 */
function startWorker(env: Record<string, string | undefined>): Promise<ChildProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, RAGSCOPE_LOG_LEVEL: 'info' };
  delete childEnv.DATABASE_URL;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(process.execPath, [CLI, 'worker'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a worker did not become ready in ${READY_TIMEOUT_MS / 1000} s: ${output.slice(-2000)}`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`a worker exited with ${code} before it was ready: ${output.slice(-2000)}`));
    };
    const onData = (chunk: Buffer): void => {
      // Only the tail is kept, for an error message; a worker logs little once ready.
      output = (output + chunk.toString()).slice(-8000);
      if (output.includes('"worker ready"')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM (active jobs finish), SIGKILL after STOP_TIMEOUT_MS. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function waitForFinished(fleet: Fleet, jobs: number): Promise<void> {
  const queue = await fleet.producer.queue(QUEUES.ragQuery);
  const deadline = Date.now() + BATCH_TIMEOUT_MS;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= jobs) return;
    const gone = fleet.processes.find((worker) => worker.exitCode !== null || worker.signalCode !== null);
    if (gone) throw new Error(`a worker of ${TOPOLOGY_LABELS[fleet.topology]}, ${fleet.workers} workers, exited mid-batch (${gone.exitCode ?? gone.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${TOPOLOGY_LABELS[fleet.topology]}, ${fleet.workers} workers: ${JSON.stringify(counts)} of ${jobs} jobs after ${BATCH_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Enqueues `jobs` at once, waits for all of them, and reads their timestamps and the CPU spent. */
async function runBatch(fleet: Fleet, round: number, jobs: number): Promise<Batch> {
  const queue = await fleet.producer.queue(QUEUES.ragQuery);
  const workerPids = fleet.processes.map((worker) => worker.pid);
  const redisBefore = fleet.redisPids.map(cpuTicksOf);
  const workersBefore = workerPids.map(cpuTicksOf);
  const machineBefore = machineCpuTicks(readFileSync('/proc/stat', 'utf8'));
  const startedAt = performance.now();
  // One addBulk of contract-valid jobs on the producer's own queue: ragscope's producer adds one job
  // per call, each in a span, and a burst of hundreds made this process, not the workers, the bound.
  const enqueueStartedAt = performance.now();
  await queue.addBulk(
    Array.from({ length: jobs }, (_, index) => ({
      name: JOB_NAMES.query,
      data: ragQueryDataSchema.parse({ query: `redis eviction policy and GDPR retention ${round}-${index}`, userId: `bench-${index % 20}` }),
      // Kept until read below; one attempt, so a failing job shows as failed instead of retrying.
      opts: { attempts: 1, removeOnComplete: false, removeOnFail: false },
    })),
  );
  const enqueueMs = performance.now() - enqueueStartedAt;
  await waitForFinished(fleet, jobs);
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const machineAfter = machineCpuTicks(readFileSync('/proc/stat', 'utf8'));
  const redisSeconds = fleet.redisPids.map((pid, index) => (cpuTicksOf(pid) - redisBefore[index]!) / CLOCK_TICKS_PER_SECOND);
  const workerSeconds = workerPids.map((pid, index) => (cpuTicksOf(pid) - workersBefore[index]!) / CLOCK_TICKS_PER_SECOND);
  const finished = await queue.getJobs(['completed', 'failed'], 0, -1);
  const failed = finished.filter((job) => job.failedReason);
  if (failed.length > 0) throw new Error(`${failed.length} of ${jobs} jobs failed on ${TOPOLOGY_LABELS[fleet.topology]} with ${fleet.workers} workers, e.g. ${failed[0]!.failedReason}`);
  await queue.clean(0, 0, 'completed');
  return {
    ...batchFigures(finished.map((job) => ({ timestamp: job.timestamp, processedOn: job.processedOn!, finishedOn: job.finishedOn! }))),
    topology: fleet.topology,
    workers: fleet.workers,
    round,
    redisCorePct: (Math.max(...redisSeconds) / wallSeconds) * 100,
    redisOtherNodesPct: ((redisSeconds.reduce((sum, seconds) => sum + seconds, 0) - Math.max(...redisSeconds)) / wallSeconds) * 100,
    redisCpuMsPerJob: (Math.max(...redisSeconds) * 1000) / jobs,
    enqueueMs,
    workerCpuMsPerJob: (workerSeconds.reduce((sum, seconds) => sum + seconds, 0) * 1000) / jobs,
    machineBusyPct: ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) * 100,
  };
}

async function main(): Promise<number> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const binaries = redisBinaries();
  if (!binaries) throw new Error('bench/scale starts its own Redis servers: install redis-server and redis-cli (apt install redis-server)');
  const fleets: Fleet[] = [];
  let single: TestRedis | undefined;
  let cluster: TestCluster | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([...spawned].map(stopWorker));
    await Promise.all(fleets.map((fleet) => fleet.producer.close().catch(() => undefined)));
    single?.stop();
    cluster?.stop();
  };
  const onSignal = (): void => {
    process.stderr.write('interrupted: stopping workers and Redis servers\n');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    process.stdout.write(`scale: load average ${loadAverage()} at start; starting a single Redis and a 3-primary Cluster\n`);
    [single, cluster] = await Promise.all([startSingleRedis(binaries), startCluster(binaries, 3)]);
    const singleServer = single;
    const clusterServers = cluster;
    const plans = TOPOLOGIES.flatMap((topology) => WORKER_COUNTS.map((workers) => ({ topology, workers })));
    const startedAt = Date.now();
    process.stdout.write(`starting ${plans.reduce((sum, plan) => sum + plan.workers, 0)} worker processes (${START_PARALLELISM} at a time)\n`);
    const envOf = (plan: { topology: Topology; workers: number }) => ({
      ...topologyEnv(plan.topology, singleServer, clusterServers),
      // A hash tag of its own per fleet: valid on the Cluster, and harmless on the single server.
      RAGSCOPE_QUEUE_PREFIX: `{scale-${plan.workers}w}`,
      DD_TRACE_ENABLED: 'false',
      DD_PROFILING_ENABLED: 'false',
      DD_PROFILING_CAPTURE_PCT: '0',
      RAGSCOPE_ENQUEUE_WAIT_REPLICAS: undefined,
    });
    const started: Array<{ plan: (typeof plans)[number]; worker: ChildProcess }> = [];
    await startLimited(
      plans.flatMap((plan) => Array.from({ length: plan.workers }, (_, index) => ({ plan, index }))),
      START_PARALLELISM,
      async ({ plan, index }) => {
        const worker = await startWorker({ ...envOf(plan), RAGSCOPE_WORKER_ID: `scale-${plan.topology}-${plan.workers}w-${index}` });
        return { plan, worker };
      },
      started,
    );
    for (const plan of plans) {
      const env = envOf(plan);
      const config = loadConfig(Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)));
      fleets.push({
        ...plan,
        processes: started.filter((entry) => entry.plan === plan).map((entry) => entry.worker),
        producer: new RagscopeProducer(config),
        redisPids: (plan.topology === 'single' ? [singleServer.server] : clusterServers.servers).map((server) => server.child.pid!),
      });
    }
    process.stdout.write(`workers ready in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; warm-up: ${WARMUP_JOBS} jobs per fleet\n`);
    // The same warm-up for every fleet: JIT tiers, PGlite caches, connections, Redis scripts.
    for (const fleet of fleets) await runBatch(fleet, -1, WARMUP_JOBS);
    process.stdout.write(
      `${ROUNDS} rounds × ${JOBS} rag-query jobs per batch, worker concurrency ${DEFAULTS.workerConcurrency} (default), tracing and profiling off\n`,
    );
    const fleetOf = (topology: Topology, workers: number): Fleet => fleets.find((fleet) => fleet.topology === topology && fleet.workers === workers)!;
    const batches: Batch[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const counts = WORKER_COUNTS.map((_, index) => WORKER_COUNTS[(index + round) % WORKER_COUNTS.length]!);
      const topologies = round % 2 === 0 ? TOPOLOGIES : [...TOPOLOGIES].reverse();
      const measured: Batch[] = [];
      for (const workers of counts) {
        for (const topology of topologies) measured.push(await runBatch(fleetOf(topology, workers), round, JOBS));
      }
      batches.push(...measured);
      const line = [...measured]
        .sort((left, right) => left.workers - right.workers || left.topology.localeCompare(right.topology))
        .map((batch) => `${batch.workers}w ${batch.topology} ${batch.jobsPerSecond.toFixed(1)}/s`)
        .join(', ');
      process.stdout.write(`round ${String(round + 1).padStart(2)} (load ${loadAverage()}): ${line}\n`);
    }
    process.stdout.write(`\n${formatScaleReport(summarise(batches, TOPOLOGIES, WORKER_COUNTS))}`);
    process.stdout.write(`load average at the end: ${loadAverage()}; ${((Date.now() - startedAt) / 1000).toFixed(0)} s since the workers started\n`);
    return 0;
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`scale failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
