import { ValidationError } from '../contracts/errors';

/**
 * A cheap lexical look at a statement before it reaches PostgreSQL: is it one statement, and is it
 * not already an EXPLAIN. It only has to skip what can hide a `;` or a keyword (string literals, E''
 * strings, dollar quotes, quoted identifiers, comments); PostgreSQL remains the real judge, since
 * every statement is sent through the extended protocol, which refuses a second one anyway.
 */
export interface StatementShape {
  /** Statements separated by `;` that contain more than whitespace and comments. */
  statementCount: number;
  /** The first word outside comments, lower-cased (`select`, `with`, `delete` …); '' when none. */
  firstKeyword: string;
}

export function statementShape(text: string): StatementShape {
  let statementCount = 0;
  let currentHasContent = false;
  let firstKeyword = '';
  let position = 0;
  const contentAt = (start: number) => {
    currentHasContent = true;
    if (statementCount === 0 && !firstKeyword) {
      const word = /^[A-Za-z_]+/.exec(text.slice(start))?.[0];
      firstKeyword = (word ?? text[start] ?? '').toLowerCase();
    }
  };

  while (position < text.length) {
    const char = text[position]!;
    const next = text[position + 1];
    if (char === '-' && next === '-') {
      const end = text.indexOf('\n', position);
      position = end === -1 ? text.length : end + 1;
    } else if (char === '/' && next === '*') {
      position = endOfBlockComment(text, position);
    } else if (char === ';') {
      if (currentHasContent) statementCount++;
      currentHasContent = false;
      position++;
    } else if (/\s/.test(char)) {
      position++;
    } else {
      if (!currentHasContent) contentAt(position);
      position = endOfToken(text, position);
    }
  }
  if (currentHasContent) statementCount++;
  return { statementCount, firstKeyword };
}

/** Throws a ValidationError unless `text` is exactly one statement that ragscope may wrap in EXPLAIN. */
export function assertSingleStatement(text: string): void {
  const shape = statementShape(text);
  if (shape.statementCount === 0) throw new ValidationError('the statement is empty', 'pass one SQL statement, e.g. "SELECT * FROM documents LIMIT 5"');
  if (shape.statementCount > 1) {
    throw new ValidationError(
      `found ${shape.statementCount} statements; explain runs exactly one`,
      'pass each statement on its own; a ; inside a string literal or comment is fine',
    );
  }
  if (shape.firstKeyword === 'explain') {
    throw new ValidationError(
      'the statement is already an EXPLAIN',
      'pass the statement itself: ragscope adds EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) around it',
    );
  }
}

/** Position just past the token starting at `start`: a quoted literal or identifier, or one character. */
function endOfToken(text: string, start: number): number {
  const char = text[start]!;
  const previous = text[start - 1] ?? ' ';
  if (char === "'") {
    // E'…' strings escape with backslashes; standard strings only by doubling the quote.
    return endOfQuoted(text, start, "'", /[eE]/.test(previous) && !/[A-Za-z0-9_]/.test(text[start - 2] ?? ' '));
  }
  if (char === '"') return endOfQuoted(text, start, '"', false);
  if (char === '$' && !/[A-Za-z0-9_$]/.test(previous)) {
    const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(start))?.[0];
    if (tag) {
      const end = text.indexOf(tag, start + tag.length);
      return end === -1 ? text.length : end + tag.length;
    }
  }
  return start + 1;
}

function endOfQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let position = start + 1;
  while (position < text.length) {
    const char = text[position];
    if (backslashEscapes && char === '\\') {
      position += 2;
    } else if (char === quote) {
      if (text[position + 1] === quote) position += 2;
      else return position + 1;
    } else {
      position++;
    }
  }
  return text.length;
}

/** Block comments nest in PostgreSQL, unlike in the SQL standard. */
function endOfBlockComment(text: string, start: number): number {
  let depth = 0;
  let position = start;
  while (position < text.length) {
    if (text[position] === '/' && text[position + 1] === '*') {
      depth++;
      position += 2;
    } else if (text[position] === '*' && text[position + 1] === '/') {
      depth--;
      position += 2;
      if (depth === 0) return position;
    } else {
      position++;
    }
  }
  return text.length;
}
