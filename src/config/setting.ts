import { z } from 'zod';
import { redactUrl } from './redis-target';

/**
 * One configuration knob: the environment variable, how its text is parsed, its default (written as
 * the text a user would put in `.env`, so `.env.example` can show it and the parser proves it valid)
 * and one line of documentation. The settings table (settings.ts) is a tree of these; the typed
 * config, the defaults and `.env.example` are all derived from it.
 */
export interface Setting<Value> {
  readonly kind: 'setting';
  readonly env: string;
  readonly schema: z.ZodType<Value>;
  /** Default as environment text; absent = unset unless derived (see config.ts). */
  readonly default?: string;
  readonly doc: string;
  /** Shown commented out in `.env.example` when there is no default. */
  readonly example?: string;
  /** Starts a new paragraph in `.env.example` with this comment. */
  readonly heading?: string;
  /**
   * How a bad value may be quoted in an error: `secret` never (a token, a password, a webhook URL
   * whose path is the credential), `url` with its password masked; absent = as given.
   */
  readonly sensitive?: 'secret' | 'url';
}

interface SettingFields<S extends z.ZodType> {
  env: string;
  schema: S;
  doc: string;
  heading?: string;
  sensitive?: 'secret' | 'url';
}

/** A knob that always has a value: the default applies when the variable is unset or empty. */
export function setting<S extends z.ZodType>(fields: SettingFields<S> & { default: string }): Setting<z.output<S>> {
  return { kind: 'setting', ...fields } as Setting<z.output<S>>;
}

/** A knob that may stay unset (`undefined` in the config). */
export function optionalSetting<S extends z.ZodType>(
  fields: SettingFields<S> & { example?: string },
): Setting<z.output<S> | undefined> {
  return { kind: 'setting', ...fields } as Setting<z.output<S> | undefined>;
}

export interface SettingGroup {
  readonly [key: string]: Setting<unknown> | SettingGroup;
}

/**
 * The config object a settings tree resolves to: same shape, each setting replaced by its value; a
 * setting without a default is an optional property.
 */
export type Resolved<T> =
  T extends Setting<infer Value>
    ? Value
    : Simplify<
        { -readonly [K in keyof T as undefined extends Resolved<T[K]> ? K : never]?: Resolved<T[K]> } & {
          -readonly [K in keyof T as undefined extends Resolved<T[K]> ? never : K]: Resolved<T[K]>;
        }
      >;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export function isSetting(node: Setting<unknown> | SettingGroup): node is Setting<unknown> {
  return (node as Setting<unknown>).kind === 'setting';
}

/** Every setting of a tree in declaration order, which is also `.env.example`'s order. */
export function listSettings(tree: SettingGroup): Setting<unknown>[] {
  const found: Setting<unknown>[] = [];
  for (const node of Object.values(tree)) {
    if (isSetting(node)) found.push(node);
    else found.push(...listSettings(node));
  }
  return found;
}

/** `NAME="value"` for an error message, without the value when it is a secret. */
export function quoteSetting(node: Setting<unknown>, raw: string): string {
  if (node.sensitive === 'secret') return `${node.env} (value not shown: it is a secret)`;
  return `${node.env}=${JSON.stringify(node.sensitive === 'url' ? redactUrl(raw) : raw)}`;
}

/**
 * Parses `env` against the tree: unset or blank variables take their default, every bad variable is
 * reported (name, value unless secret, reason) rather than only the first.
 */
export function resolveSettings<T extends SettingGroup>(
  tree: T,
  env: Readonly<Record<string, string | undefined>>,
): { values: Resolved<T>; problems: string[] } {
  const problems: string[] = [];
  const walk = (group: SettingGroup): Record<string, unknown> => {
    const values: Record<string, unknown> = {};
    for (const [key, node] of Object.entries(group)) {
      if (!isSetting(node)) {
        values[key] = walk(node);
        continue;
      }
      const raw = env[node.env];
      if (raw === undefined || raw.trim() === '') {
        values[key] = node.default === undefined ? undefined : node.schema.parse(node.default);
        continue;
      }
      const result = node.schema.safeParse(raw.trim());
      if (result.success) values[key] = result.data;
      else problems.push(`${quoteSetting(node, raw)}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    }
    return values;
  };
  return { values: walk(tree) as Resolved<T>, problems };
}
