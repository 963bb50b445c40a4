/**
 * Where a bench's measured processes run. On a VM two vCPUs can differ in speed: on the 2-core
 * machine these benches were written on, a numeric loop took 62 ms of CPU on vCPU 0 and 111 ms on
 * vCPU 1, every time, and mixed work 63.5 against 69.7 ms. A bench that compares the CPU time of
 * separate worker processes then measures which core each landed on as much as what it runs, so the
 * workers under comparison are pinned to one CPU (taskset, util-linux) and the bench's own process
 * to the others. Linux only; elsewhere, or without taskset, nothing is pinned and the bench says so.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Pinning {
  /** The CPU the compared workers run on; undefined when they are not pinned. */
  workerCpu?: number;
  /** The CPUs this process runs on otherwise; undefined when it is not pinned. */
  benchCpus?: number[];
  /** One line for the bench's header: what was pinned where, or why nothing was. */
  description: string;
}

/** Sets the CPUs of every thread of this process (libuv's pool and V8's helpers too: `-a`). */
function pinThisProcess(cpus: number[]): boolean {
  return spawnSync('taskset', ['-a', '-cp', cpus.join(','), String(process.pid)], { encoding: 'utf8' }).status === 0;
}

/** Pins this process to every CPU but the workers' one, and names the workers' CPU. */
export function pinWorkersToOneCpu(workerCpu = 0): Pinning {
  const works = process.platform === 'linux' && spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' }).status === 0;
  if (!works) return { description: 'workers not pinned (taskset not available): their CPU time depends on the cores they land on' };
  const benchCpus = Array.from({ length: availableParallelism() }, (_, cpu) => cpu).filter((cpu) => cpu !== workerCpu);
  if (benchCpus.length === 0 || !pinThisProcess(benchCpus)) {
    return { workerCpu, description: `workers pinned to CPU ${workerCpu}, the bench not pinned` };
  }
  return { workerCpu, benchCpus, description: `workers pinned to CPU ${workerCpu}, the bench on CPU ${benchCpus.join(',')} (taskset)` };
}

/** Runs `work` in this process on the workers' CPU (to size work as they will run it), then moves back. */
export function onWorkerCpu<T>(pinning: Pinning, work: () => T): T {
  if (pinning.workerCpu === undefined) return work();
  pinThisProcess([pinning.workerCpu]);
  try {
    return work();
  } finally {
    if (pinning.benchCpus) pinThisProcess(pinning.benchCpus);
  }
}

/** A command line that runs `command` on the workers' CPU (unchanged when nothing is pinned). */
export function onWorkerCpuCommand(pinning: Pinning, command: string, args: string[]): { command: string; args: string[] } {
  return pinning.workerCpu === undefined ? { command, args } : { command: 'taskset', args: ['-c', String(pinning.workerCpu), command, ...args] };
}

/** Lets this process run on every CPU again (for a part of a bench that compares nothing across processes). */
export function unpinBench(pinning: Pinning): void {
  if (pinning.benchCpus) pinThisProcess([pinning.workerCpu!, ...pinning.benchCpus].sort((left, right) => left - right));
}
