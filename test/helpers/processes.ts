import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');
/** The compiled CLI, as users run it (`npm test` builds it first); compiled code keeps profiles' file:line exact. */
const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** The environment a child gets: this one minus anything that would point it at real services. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, RAGSCOPE_LOG_LEVEL: 'info' };
  delete base.DATABASE_URL;
  return { ...base, ...env };
}

/** Runs `ragscope <args>` as a user would, in its own process. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliRun> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, durationMs: Date.now() - startedAt });
    });
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `ragscope worker` in its own process and resolves once it logs that it is ready. `cpu` pins
 * it (and every thread it starts) to that CPU with taskset(1): benches that compare workers' CPU
 * time use it, because on a VM two vCPUs can differ in speed (see bench/cpu-pinning.ts).
 */
export function startWorkerProcess(env: Record<string, string | undefined>, args: string[] = [], options: { cpu?: number } = {}): Promise<WorkerProcess> {
  if (options.cpu === undefined) return startLongRunning(['worker', ...args], env, '"worker ready"');
  return startProcess('taskset', ['-c', String(options.cpu), process.execPath, CLI, 'worker', ...args], { cwd: REPO_ROOT, env }, '"worker ready"');
}

/**
 * How long a process may take to say it is ready. A bound against a hang, not a performance claim:
 * a worker loads PGlite (WASM) at start-up, which takes seconds on a quiet machine and several times
 * that on a loaded 2-core one.
 */
const READY_TIMEOUT_MS = 90_000;

/** Starts a long-running `ragscope <args>` and resolves once its output contains `readyMarker`. */
export function startLongRunning(args: string[], env: Record<string, string | undefined>, readyMarker: string): Promise<WorkerProcess> {
  return startProcess(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env }, readyMarker);
}

/**
 * Starts any long-running command (e.g. `npx ragscope worker` in an install outside the repo) and
 * resolves once its output contains `readyMarker`.
 */
export function startProcess(
  command: string,
  args: string[],
  options: {
    cwd: string;
    env: Record<string, string | undefined>;
    /**
     * The command runs the real process as its child (npx): start it in a process group of its
     * own, signal the whole group, and wait until every member is gone.
     */
    processGroup?: boolean;
  },
  readyMarker: string,
): Promise<WorkerProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'], detached: options.processGroup });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const groupAlive = (): boolean => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const handle: WorkerProcess = {
    child,
    output: () => output,
    stop: async () => {
      if (!options.processGroup) {
        if (child.exitCode === null) child.kill('SIGTERM');
        return exited;
      }
      if (groupAlive()) process.kill(-child.pid!, 'SIGTERM');
      const code = await exited;
      await waitFor(() => (groupAlive() ? undefined : true), 60_000, `the process group of ${command} to exit`);
      return code;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (options.processGroup && groupAlive()) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
      reject(new Error(`${[command, ...args].join(' ')} did not become ready in ${READY_TIMEOUT_MS / 1000} s:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk;
      if (output.includes(readyMarker)) {
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${[command, ...args].join(' ')} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

export async function waitFor<T>(read: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
