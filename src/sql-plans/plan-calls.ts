import { tokenizeSql, type SqlToken } from './sql-tokens';
/**
 * Everything in a plan that calls a function, read from EXPLAIN (VERBOSE, FORMAT JSON) without
 * executing anything: function calls in output lists, filters, join and index conditions, CTEs,
 * SubPlans and InitPlans (all of them are nodes of the same tree), casts (`x::type` may call a cast
 * function) and operators (each is a function). Pure; the catalogs are asked by the caller.
 *
 * VERBOSE deparses expressions the way ruleutils prints them: a function not visible on the
 * search_path is schema-qualified, quoted identifiers are quoted, literals are '…'::type. So a
 * scanner that skips literals and reads `name(` is enough; a name that is not a function (CASE,
 * COALESCE, ROW …) simply finds nothing in pg_proc.
 */
export interface FunctionReference {
  schema?: string;
  name: string;
}

export interface PlanCalls {
  functions: FunctionReference[];
  /** Type names cast to (`integer`, `public.mytype`), as to_regtype() reads them. */
  castTargets: string[];
  /** Operator symbols (`=`, `@@`, `###`); OPERATOR(schema.op) gives its schema. */
  operators: FunctionReference[];
  /** Tables a ModifyTable node writes, whose triggers, defaults and CHECKs run too. */
  modifiedRelations: { schema?: string; name: string }[];
}

/** Keys whose values are names, not expressions. */
const NAME_KEYS = new Set(['Node Type', 'Relation Name', 'Alias', 'Schema', 'Index Name', 'CTE Name', 'Subplan Name', 'Parent Relationship', 'Strategy', 'Join Type', 'Operation', 'Command', 'Scan Direction', 'Partial Mode', 'Sort Method', 'Sort Space Type']);

export function planCalls(explain: unknown): PlanCalls {
  const calls: PlanCalls = { functions: [], castTargets: [], operators: [], modifiedRelations: [] };
  const visit = (value: unknown, key: string | undefined) => {
    if (typeof value === 'string') {
      if (key === undefined || !NAME_KEYS.has(key)) addExpression(calls, value);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item, key);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const object = value as Record<string, unknown>;
    if (typeof object['Node Type'] === 'string') {
      if (typeof object['Function Name'] === 'string') {
        addOnce(calls.functions, { name: object['Function Name'], ...(typeof object.Schema === 'string' ? { schema: object.Schema } : {}) });
      }
      if (object['Node Type'] === 'ModifyTable' && typeof object['Relation Name'] === 'string') {
        addOnce(calls.modifiedRelations, { name: object['Relation Name'], ...(typeof object.Schema === 'string' ? { schema: object.Schema } : {}) });
      }
    }
    for (const [childKey, child] of Object.entries(object)) {
      if (childKey !== 'Function Name') visit(child, childKey);
    }
  };
  visit(explain, undefined);
  return calls;
}

/** The calls in one deparsed expression (a default, a CHECK constraint, a plan's Output …). */
export function expressionCalls(expression: string): PlanCalls {
  const calls: PlanCalls = { functions: [], castTargets: [], operators: [], modifiedRelations: [] };
  addExpression(calls, expression);
  return calls;
}

type Token = SqlToken;

/** Unquoted identifiers folded to lower case, as PostgreSQL reads them. */
function tokenize(text: string): Token[] {
  return tokenizeSql(text).map((token) => (token.kind === 'identifier' && !token.quoted ? { ...token, text: token.text.toLowerCase() } : token));
}

const TYPE_CONTINUATIONS = new Set(['varying', 'precision', 'with', 'without', 'time', 'zone']);
/** Words followed by `(` in deparsed SQL that are syntax, not function calls. */
const NOT_CALLS = new Set(['and', 'or', 'not', 'any', 'all', 'some', 'in', 'exists', 'array', 'row', 'case', 'when', 'then', 'else', 'returns', 'subplan', 'initplan', 'hashed', 'values', 'operator', 'filter', 'over', 'within']);

function addExpression(calls: PlanCalls, text: string): void {
  const tokens = tokenize(text);
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.kind === 'operator') {
      if (token.text === '::') {
        const [typeName, next] = readTypeName(tokens, index + 1);
        if (typeName) addOnce(calls.castTargets, typeName);
        index = next - 1;
      } else if (token.text !== '*' || tokens[index - 1]?.text !== '(') {
        addOnce(calls.operators, { name: token.text });
      }
      continue;
    }
    if (token.kind !== 'identifier') continue;
    const lower = token.text.toLowerCase();
    // OPERATOR(schema.###): a qualified operator.
    if (lower === 'operator' && tokens[index + 1]?.text === '(') {
      const schema = tokens[index + 2];
      const symbol = tokens[index + 4];
      if (schema?.kind === 'identifier' && tokens[index + 3]?.text === '.' && symbol?.kind === 'operator') {
        addOnce(calls.operators, { schema: schema.text, name: symbol.text });
        index += 5;
      }
      continue;
    }
    let schema: string | undefined;
    let name: Token = token;
    let end = index;
    if (tokens[index + 1]?.text === '.' && tokens[index + 2]?.kind === 'identifier') {
      schema = token.text;
      name = tokens[index + 2]!;
      end = index + 2;
    }
    if (tokens[end + 1]?.text !== '(') {
      index = end;
      continue;
    }
    if (schema === undefined && NOT_CALLS.has(lower)) continue;
    addOnce(calls.functions, { ...(schema !== undefined ? { schema } : {}), name: name.text });
    index = end;
  }
}

/** `integer`, `character varying(20)[]`, `public.mytype`, `"My Type"`: the text to_regtype() accepts. */
function readTypeName(tokens: Token[], start: number): [string | undefined, number] {
  let position = start;
  const first = tokens[position];
  if (first?.kind !== 'identifier') return [undefined, position];
  let text = quoteIfNeeded(first.text);
  position++;
  if (tokens[position]?.text === '.' && tokens[position + 1]?.kind === 'identifier') {
    text += `.${quoteIfNeeded(tokens[position + 1]!.text)}`;
    position += 2;
  }
  while (tokens[position]?.kind === 'identifier' && TYPE_CONTINUATIONS.has(tokens[position]!.text.toLowerCase())) {
    text += ` ${tokens[position]!.text}`;
    position++;
  }
  if (tokens[position]?.text === '(') {
    const close = tokens.findIndex((token, at) => at > position && token.text === ')');
    if (close !== -1) position = close + 1;
  }
  while (tokens[position]?.text === '[' && tokens[position + 1]?.text === ']') {
    text += '[]';
    position += 2;
  }
  return [text, position];
}

/** Identifiers come out of the tokenizer unquoted; anything not plain lower case needs its quotes back. */
function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function addOnce<T>(list: T[], value: T): void {
  const key = JSON.stringify(value);
  if (!list.some((item) => JSON.stringify(item) === key)) list.push(value);
}
