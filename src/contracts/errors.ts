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
 * Too much work is already waiting: nothing was enqueued. Retryable: the same request succeeds once
 * workers have drained the backlog (HTTP 429 with Retry-After).
 */
export class QueueFullError extends UserError {
  constructor(
    message: string,
    hint: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, hint);
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
