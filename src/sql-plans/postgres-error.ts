import { UserError, ValidationError } from '../contracts/errors';

/** The fields node-postgres and PGlite both put on a server error. */
export interface PostgresErrorFields {
  message: string;
  /** SQLSTATE, e.g. 42601 for a syntax error. */
  code: string;
  /** 1-based character offset into the statement sent, as a string (pg) or number. */
  position?: string | number;
  hint?: string;
  detail?: string;
}

export function isPostgresError(error: unknown): error is PostgresErrorFields {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof message === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

export interface StatementContext {
  /** The statement as the user wrote it. */
  statement: string;
  /** How many characters ragscope put before it (the EXPLAIN prefix), to map positions back. */
  prefixLength: number;
  statementTimeoutMs: number;
}

const SQLSTATE = {
  readOnlyTransaction: '25006',
  queryCanceled: '57014',
  undefinedTable: '42P01',
  indeterminateDatatype: '42P18',
  protocolViolation: '08P01',
} as const;

/**
 * A PostgreSQL error about the user's statement as a UserError: Postgres' own message, where in the
 * statement it points (a caret under the position), and a hint about what to change.
 */
export function statementError(error: PostgresErrorFields, context: StatementContext): UserError {
  if (/cannot insert multiple commands into a prepared statement/i.test(error.message)) {
    return new ValidationError('the text holds more than one statement; explain runs exactly one', 'pass each statement on its own');
  }
  if (error.code === SQLSTATE.readOnlyTransaction) {
    return new ValidationError(
      `the statement writes, and explain runs read-only by default (PostgreSQL: ${error.message})`,
      'pass --allow-writes to EXPLAIN ANALYZE it anyway: it runs inside a transaction that is always rolled back',
    );
  }
  if (error.code === SQLSTATE.queryCanceled) {
    return new UserError(
      `the statement ran longer than the ${context.statementTimeoutMs / 1000} s statement timeout and was cancelled`,
      'raise the timeout with --timeout <seconds>, or explain a narrower statement (add a LIMIT or a filter)',
    );
  }
  const located = locate(context, error.position);
  const message = `${error.message}${located ? `\n${located}` : ''}${error.detail ? `\n${error.detail}` : ''}`;
  const hint = hintFor(error);
  return error.code === SQLSTATE.protocolViolation ? new ValidationError(message, hint) : new UserError(message, hint);
}

function hintFor(error: PostgresErrorFields): string | undefined {
  if (error.hint) return error.hint;
  switch (error.code) {
    case SQLSTATE.undefinedTable:
      return 'unqualified names resolve in the configured schema (RAGSCOPE_DB_SCHEMA), then public; `ragscope db seed` creates documents there';
    case SQLSTATE.indeterminateDatatype:
      return 'cast the placeholder so PostgreSQL knows its type, e.g. $1::integer';
    case SQLSTATE.protocolViolation:
      return 'pass one --param per placeholder ($1, $2, …), in order';
    default:
      return undefined;
  }
}

/**
 * The line of the statement that `position` points into, with a caret under the character, and
 * its line and column. Positions count characters (code points), not UTF-16 units or bytes.
 */
export function locate(context: Pick<StatementContext, 'statement' | 'prefixLength'>, position: string | number | undefined): string | undefined {
  const sentPosition = Number(position);
  if (!Number.isInteger(sentPosition) || sentPosition < 1) return undefined;
  const characters = Array.from(context.statement);
  const index = sentPosition - 1 - context.prefixLength;
  if (index < 0 || index > characters.length) return undefined;

  let lineStart = 0;
  let lineNumber = 1;
  for (let offset = 0; offset < index; offset++) {
    if (characters[offset] === '\n') {
      lineStart = offset + 1;
      lineNumber++;
    }
  }
  let lineEnd = characters.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = characters.length;
  const column = index - lineStart;

  // Long lines are shown as a window around the caret, so the caret stays on screen.
  const windowStart = Math.max(lineStart, lineStart + column - 60);
  const windowEnd = Math.min(lineEnd, windowStart + 120);
  const shown = characters.slice(windowStart, windowEnd).join('').replace(/\t/g, ' ');
  const lead = windowStart > lineStart ? '…' : '';
  const trail = windowEnd < lineEnd ? '…' : '';
  return `at line ${lineNumber}, column ${column + 1}:\n  ${lead}${shown}${trail}\n  ${' '.repeat(lead.length + (index - windowStart))}^`;
}
