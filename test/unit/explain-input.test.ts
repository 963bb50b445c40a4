import { describe, expect, it } from 'vitest';
import { UserError, ValidationError } from '../../src/contracts/errors';
import { EXPLAIN_PREFIX } from '../../src/sql-plans/explain-runner';
import { locate, statementError } from '../../src/sql-plans/postgres-error';
import { assertSingleStatement, statementShape } from '../../src/sql-plans/statement-check';

describe('statementShape counts statements, not semicolons', () => {
  it.each([
    ['SELECT 1', 1],
    ['SELECT 1;', 1],
    ['SELECT 1;  -- trailing comment', 1],
    ['SELECT 1; /* done */ ;;', 1],
    ["SELECT ';' AS semicolon", 1],
    ["SELECT 'it''s; fine'", 1],
    ["SELECT E'back\\'slash; still one'", 1],
    ['SELECT $$a; b$$', 1],
    ['SELECT $body$ ; $inner$ ; $body$', 1],
    ['SELECT 1 AS "a;b"', 1],
    ['SELECT 1 /* nested /* ; */ still comment ; */', 1],
    ['SELECT 1 -- ; in a line comment\nFROM t', 1],
    ['SELECT $1::int', 1],
    ['SELECT 1; SELECT 2', 2],
    ["SELECT 'x'; DELETE FROM documents", 2],
    ['SELECT 1; -- second line\nDELETE FROM documents;', 2],
    ['', 0],
    ['  ; -- nothing', 0],
  ])('%j has %i statement(s)', (text, count) => {
    expect(statementShape(text).statementCount).toBe(count);
  });

  it('finds the first keyword past comments', () => {
    expect(statementShape('/* why */ -- note\n  explain select 1').firstKeyword).toBe('explain');
    expect(statementShape('WITH x AS (SELECT 1) SELECT * FROM x').firstKeyword).toBe('with');
  });

  it('refuses empty text, two statements and an EXPLAIN with ValidationErrors', () => {
    expect(() => assertSingleStatement('  ')).toThrow(ValidationError);
    expect(() => assertSingleStatement('SELECT 1; SELECT 2')).toThrow(/found 2 statements/);
    expect(() => assertSingleStatement('EXPLAIN ANALYZE SELECT 1')).toThrow(/already an EXPLAIN/);
    expect(() => assertSingleStatement("SELECT 'a;b';")).not.toThrow();
  });
});

describe('Postgres errors become UserErrors that point into the statement', () => {
  const prefixLength = EXPLAIN_PREFIX.length;
  const context = (statement: string) => ({ statement, prefixLength, statementTimeoutMs: 30_000 });

  it('puts a caret under the position, on the right line', () => {
    const statement = 'SELECT id\nFROM documents\nWHRE id = 1';
    // Position of "id" on line 3, counted in the text sent (prefix included), 1-based.
    const position = prefixLength + statement.indexOf('id = 1') + 1;
    expect(locate({ statement, prefixLength }, String(position))).toBe('at line 3, column 6:\n  WHRE id = 1\n       ^');
  });

  it('counts characters, not UTF-16 units, as PostgreSQL does', () => {
    const statement = "SELECT '🙂' FORM t";
    const position = prefixLength + Array.from(statement).indexOf('F') + 1;
    expect(locate({ statement, prefixLength }, position)).toBe("at line 1, column 12:\n  SELECT '🙂' FORM t\n             ^");
  });

  it('shows a window of a long line, keeping the caret under the character', () => {
    const statement = `SELECT ${'x, '.repeat(100)}FORM t`;
    const index = statement.indexOf('FORM');
    const located = locate({ statement, prefixLength }, prefixLength + index + 1)!;
    const [, shown, caret] = located.split('\n');
    expect(shown!.startsWith('  …')).toBe(true);
    expect(shown![caret!.indexOf('^')]).toBe('F');
  });

  it('ignores a position outside the statement', () => {
    expect(locate({ statement: 'SELECT 1', prefixLength }, 3)).toBeUndefined();
    expect(locate({ statement: 'SELECT 1', prefixLength }, undefined)).toBeUndefined();
  });

  it('maps the error classes a user can cause', () => {
    const readOnly = statementError({ code: '25006', message: 'cannot execute DELETE in a read-only transaction' }, context('DELETE FROM t'));
    expect(readOnly).toBeInstanceOf(ValidationError);
    expect(readOnly.hint).toMatch(/--allow-writes.*always rolled back/);

    const multiple = statementError({ code: '42601', message: 'cannot insert multiple commands into a prepared statement' }, context('SELECT 1; SELECT 2'));
    expect(multiple).toBeInstanceOf(ValidationError);
    expect(multiple.message).toMatch(/more than one statement/);

    const timeout = statementError({ code: '57014', message: 'canceling statement due to statement timeout' }, context('SELECT pg_sleep(60)'));
    expect(timeout.message).toMatch(/30 s statement timeout/);
    expect(timeout.hint).toMatch(/--timeout/);

    const syntax = statementError({ code: '42601', message: 'syntax error at or near "FORM"', position: String(prefixLength + 10) }, context('SELECT * FORM t'));
    expect(syntax).toBeInstanceOf(UserError);
    expect(syntax.message).toBe('syntax error at or near "FORM"\nat line 1, column 10:\n  SELECT * FORM t\n           ^');

    const missingParam = statementError({ code: '08P01', message: 'bind message supplies 0 parameters, but prepared statement "" requires 1' }, context('SELECT $1'));
    expect(missingParam).toBeInstanceOf(ValidationError);
    expect(missingParam.hint).toMatch(/--param/);
  });
});
