import type { Logger } from 'pino';
import { flushTraces } from '../telemetry/tracing';

/** How long closing may take after SIGTERM/SIGINT before the process gives up and exits 1. */
export const SHUTDOWN_GRACE_MS = 30_000;

/** One thing to close on shutdown; steps close in the order given. */
export interface ShutdownStep {
  name: string;
  close(): Promise<unknown> | unknown;
}

export interface ShutdownOptions {
  logger: Logger;
  graceMs?: number;
  /** Logged when the signal arrives (default "shutting down"). */
  stopping?: string;
  /** Logged once everything is closed (default "stopped"). */
  stopped?: string;
  /** Logged when the grace period runs out before the steps are done. */
  overdue?: string;
}

/** Resolves with the first SIGTERM or SIGINT. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * Closes `steps` in order within the grace period; a step that fails is logged and the next one
 * still runs, so one broken connection never leaves the others open. Past the grace period the
 * process exits 1: an orchestrator's SIGKILL would come next anyway, and a stuck close must not
 * keep a dead process around.
 */
export async function closeInOrder(steps: readonly ShutdownStep[], options: ShutdownOptions): Promise<void> {
  const graceMs = options.graceMs ?? SHUTDOWN_GRACE_MS;
  const overdue = setTimeout(() => {
    options.logger.error({ graceMs }, options.overdue ?? 'shutdown did not finish in time');
    process.exit(1);
  }, graceMs);
  overdue.unref();
  try {
    for (const step of steps) {
      try {
        await step.close();
      } catch (error) {
        options.logger.error({ step: step.name, err: (error as Error).message }, 'error while shutting down');
      }
    }
  } finally {
    clearTimeout(overdue);
  }
}

/**
 * The life of a long-running command once it is up: wait for SIGTERM/SIGINT, close `steps` in
 * order within the grace period, flush buffered spans (bounded, so a hung agent cannot hold the
 * exit), and exit with the exit code set so far (0 unless something set it).
 */
export async function runUntilSignal(steps: readonly ShutdownStep[], options: ShutdownOptions): Promise<never> {
  const signal = await shutdownSignal();
  options.logger.info({ signal }, options.stopping ?? 'shutting down');
  await closeInOrder(steps, options);
  options.logger.info(options.stopped ?? 'stopped');
  await flushTraces();
  process.exit(process.exitCode ?? 0);
}
