import { InvalidArgumentError } from 'commander';
import { isUserError, TooManyRequestsError } from '../contracts/errors';
import { flushTraces } from '../telemetry/tracing';

/**
 * Exit codes: 1 for what the user can fix (bad input, a service down), 75 (EX_TEMPFAIL) when the
 * same command will succeed later unchanged (a full queue: nothing was done, retry), 70
 * (EX_SOFTWARE) for bugs.
 */
export const EXIT_USER_ERROR = 1;
export const EXIT_TRY_AGAIN = 75;
export const EXIT_INTERNAL_ERROR = 70;

/**
 * Wraps a command action: user errors become one readable line (plus a hint) and exit code 1,
 * anything else is reported as a bug with its stack. Spans are flushed either way, so a failed
 * enqueue still shows up in the trace store.
 */
export function runCommand<Args extends unknown[]>(action: (...args: Args) => Promise<void>) {
  return async (...args: Args): Promise<void> => {
    try {
      await action(...args);
    } catch (error) {
      reportError(error);
    } finally {
      await flushTraces();
    }
  };
}

export function reportError(error: unknown): void {
  if (isUserError(error)) {
    process.stderr.write(`error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    process.exitCode = error instanceof TooManyRequestsError ? EXIT_TRY_AGAIN : EXIT_USER_ERROR;
    return;
  }
  process.stderr.write(`unexpected error (a bug in ragscope, please report it):\n${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = EXIT_INTERNAL_ERROR;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** commander argument parser for a whole number within bounds. */
export function integerOption(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    const value = Number(raw);
    if (value < min || value > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return value;
  };
}

export function secondsOption(max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || value > max) {
      throw new InvalidArgumentError(`expected a number of seconds from 0 to ${max}`);
    }
    return value;
  };
}
