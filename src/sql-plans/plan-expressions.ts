/**
 * Reads the columns out of an expression as EXPLAIN prints it (`((topic = 'ml'::text) AND
 * (lower(title) ~~ 'gdpr%'::text))`), so a suggestion can name what to index. A scanner, not a
 * parser: EXPLAIN's deparsed output is regular enough (fully parenthesised, literals quoted, casts
 * written `::type`) that tokens and a paren stack are all it takes.
 */
import { tokenizeSql, type SqlToken } from './sql-tokens';

export interface ExpressionColumns {
  /** Column names in order of first appearance, qualifiers (`d.topic`) dropped. */
  columns: string[];
  /**
   * Function calls that wrap a column (`lower(title)`): a plain index on the column cannot serve
   * them, an expression index can.
   */
  wrappedExpressions: string[];
  /** Operators whose indexes are GIN (or GiST): full text `@@`, containment, overlap, jsonb keys. */
  usesGinOperator: boolean;
  /** A top-level OR: one composite index cannot serve it, one index per branch can (BitmapOr). */
  hasOr: boolean;
  /**
   * Columns matched by a LIKE/ILIKE pattern with a leading wildcard, or by a regular expression: a
   * B-tree cannot serve those, a trigram (pg_trgm) GIN index can.
   */
  patternColumns: string[];
}

const KEYWORDS = new Set([
  'and', 'or', 'not', 'is', 'null', 'true', 'false', 'like', 'ilike', 'similar', 'to', 'between', 'in',
  'any', 'all', 'some', 'distinct', 'from', 'case', 'when', 'then', 'else', 'end', 'escape', 'collate',
  'subplan', 'initplan', 'hashed', 'returns', 'exists', 'array', 'row', 'at', 'time', 'zone', 'overlaps',
  'current_date', 'current_time', 'current_timestamp', 'localtime', 'localtimestamp', 'current_user',
  'session_user', 'user', 'asc', 'desc', 'nulls', 'first', 'last', 'using', 'default',
]);

/** Words that continue a type name after `::` (`character varying`, `timestamp with time zone`). */
const TYPE_CONTINUATIONS = new Set(['varying', 'precision', 'with', 'without', 'time', 'zone']);

const GIN_OPERATORS = new Set(['@@', '@>', '<@', '&&', '?', '?|', '?&', '@@@']);
/** EXPLAIN prints LIKE as ~~ and ILIKE as ~~*; ~ and ~* are regular expressions. */
const LIKE_OPERATORS = new Set(['~~', '~~*']);
const REGEX_OPERATORS = new Set(['~', '~*']);

type Token = SqlToken;

export function expressionColumns(expression: string | undefined): ExpressionColumns {
  const result: ExpressionColumns = { columns: [], wrappedExpressions: [], usesGinOperator: false, hasOr: false, patternColumns: [] };
  if (!expression) return result;
  const tokens = tokenizeSql(expression);
  const frames: { call?: string; start: number; wrapsColumn: boolean }[] = [];
  let lastColumn: string | undefined;

  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const next = tokens[index + 1];
    const previous = tokens[index - 1];
    if (token.kind === 'operator') {
      if (GIN_OPERATORS.has(token.text)) result.usesGinOperator = true;
      const leadingWildcard = LIKE_OPERATORS.has(token.text) && /^'[%_]/.test(next?.text ?? '');
      if (lastColumn && (leadingWildcard || REGEX_OPERATORS.has(token.text))) addOnce(result.patternColumns, lastColumn);
      if (token.text === '::') index = skipTypeName(tokens, index + 1) - 1;
      continue;
    }
    if (token.kind === 'punctuation') {
      if (token.text === '(') frames.push({ start: token.start, wrapsColumn: false });
      if (token.text === ')') {
        const frame = frames.pop();
        if (frame?.call && frame.wrapsColumn) addOnce(result.wrappedExpressions, expression.slice(frame.start, token.end));
      }
      continue;
    }
    if (token.kind !== 'identifier') continue;
    const word = token.quoted ? token.text : token.text.toLowerCase();
    if (!token.quoted && KEYWORDS.has(word)) {
      if (word === 'or' && frames.length <= 1) result.hasOr = true;
      // A `(` after a keyword (AND (…), ANY (…)) opens a plain group, not a function call.
      continue;
    }
    if (next?.text === '(' && !token.quoted) {
      // The call's frame starts at its name, so the wrapped expression reads `lower(title)`.
      frames.push({ call: word, start: token.start, wrapsColumn: false });
      index++;
      continue;
    }
    if (next?.text === '.') continue;
    // `(SubPlan 1).col1` and `(x).field` name a field of a row value, not a table column.
    if (previous?.text === '.' && tokens[index - 2]?.text === ')') continue;
    addOnce(result.columns, word);
    lastColumn = word;
    const outermostCall = frames.find((frame) => frame.call);
    if (outermostCall) outermostCall.wrapsColumn = true;
  }
  return result;
}

function addOnce(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}

/** Index of the first token after a type name such as `text[]`, `character varying(20)`. */
function skipTypeName(tokens: Token[], index: number): number {
  let position = index;
  if (tokens[position]?.kind === 'identifier') position++;
  while (tokens[position]?.kind === 'identifier' && TYPE_CONTINUATIONS.has(tokens[position]!.text.toLowerCase())) position++;
  if (tokens[position]?.text === '(' && tokens[position + 2]?.text === ')') position += 3;
  while (tokens[position]?.text === '[' && tokens[position + 1]?.text === ']') position += 2;
  return position;
}
