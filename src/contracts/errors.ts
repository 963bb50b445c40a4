/**
 * Errors a user can cause. Each ends as a one-line message and a non-zero exit code (CLI) or a 4xx
 * (HTTP); anything else is a bug and is logged with its stack and trace id.
 */
export class UserError extends Error {
  /** Shown after the message, e.g. how to start Redis. */
  readonly hint?: string;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Input that breaks a job contract or a command's argument rules. */
export class ValidationError extends UserError {}

/** An environment variable with a value ragscope cannot use. */
export class ConfigError extends UserError {}

/** A required service (Redis, PostgreSQL, the trace intake) does not answer. */
export class ServiceUnavailableError extends UserError {
  constructor(
    message: string,
    hint?: string,
    /** Which service, for the HTTP body (`{"service": "redis"}`). */
    readonly service?: string,
  ) {
    super(message, hint);
  }
}

/**
 * Retryable refusals: the same request succeeds later (HTTP 429 with Retry-After, CLI exit 75).
 * Nothing was done, so retrying can never duplicate work.
 */
export class TooManyRequestsError extends UserError {
  readonly retryable = true;

  constructor(
    message: string,
    hint: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, hint);
  }
}

/**
 * Too much work is already waiting (RAGSCOPE_MAX_WAITING): nothing was enqueued. The same request
 * succeeds once workers have drained the backlog.
 */
export class QueueFullError extends TooManyRequestsError {
  constructor(
    readonly queue: string,
    readonly waiting: number,
    readonly maxWaiting: number,
    retryAfterSeconds: number,
  ) {
    super(
      `queue ${queue} is full: ${waiting} jobs waiting, the cap is ${maxWaiting} (RAGSCOPE_MAX_WAITING); nothing was enqueued`,
      `retry in ${retryAfterSeconds} s, once workers have drained the backlog; add workers, or raise RAGSCOPE_MAX_WAITING if Redis has the memory`,
      retryAfterSeconds,
    );
  }
}

/** One client sent more requests than its window allows (RAGSCOPE_RATE_LIMIT_MAX). */
export class RateLimitError extends TooManyRequestsError {}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
