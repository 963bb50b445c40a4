/**
 * Tokens of the SQL expressions EXPLAIN (VERBOSE) prints: deparsed SQL is regular enough (fully
 * parenthesised, literals quoted, casts spelled `::type`) for a tokenizer to stand in for a parser.
 * Shared by plan-expressions (which columns a filter reads) and plan-calls (which functions a plan
 * would call).
 */
export type SqlToken =
  | { kind: 'identifier'; text: string; quoted: boolean; start: number; end: number }
  | { kind: 'punctuation' | 'operator' | 'literal'; text: string; start: number; end: number };

/** PostgreSQL's operator characters (CREATE OPERATOR); `::` is read on its own. */
const OPERATOR_CHARACTER = /[+\-*/<>=~!@#%^&|`?]/;

/** Identifiers keep their spelling: a quoted one has `quoted` set and its doubled quotes undone. */
export function tokenizeSql(text: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let position = 0;
  while (position < text.length) {
    const char = text[position]!;
    const start = position;
    if (/\s/.test(char)) {
      position++;
    } else if (char === "'") {
      position = endOfQuoted(text, position, "'");
      tokens.push({ kind: 'literal', text: text.slice(start, position), start, end: position });
    } else if (char === '"') {
      position = endOfQuoted(text, position, '"');
      tokens.push({ kind: 'identifier', text: text.slice(start + 1, position - 1).replace(/""/g, '"'), quoted: true, start, end: position });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(char)) {
      while (position < text.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(text[position]!)) position++;
      tokens.push({ kind: 'identifier', text: text.slice(start, position), quoted: false, start, end: position });
    } else if (/[0-9]/.test(char) || (char === '$' && /[0-9]/.test(text[position + 1] ?? ''))) {
      position++;
      while (position < text.length && /[0-9.eE]/.test(text[position]!)) position++;
      tokens.push({ kind: 'literal', text: text.slice(start, position), start, end: position });
    } else if ('(),.[];'.includes(char)) {
      position++;
      tokens.push({ kind: 'punctuation', text: char, start, end: position });
    } else if (char === ':' && text[position + 1] === ':') {
      position += 2;
      tokens.push({ kind: 'operator', text: '::', start, end: position });
    } else {
      while (position < text.length && OPERATOR_CHARACTER.test(text[position]!)) position++;
      if (position === start) position++;
      tokens.push({ kind: 'operator', text: text.slice(start, position), start, end: position });
    }
  }
  return tokens;
}

/** Position just past the closing quote; a doubled quote is an escaped one. */
function endOfQuoted(text: string, start: number, quote: string): number {
  let position = start + 1;
  while (position < text.length) {
    if (text[position] === quote) {
      if (text[position + 1] === quote) position += 2;
      else return position + 1;
    } else {
      position++;
    }
  }
  return text.length;
}
