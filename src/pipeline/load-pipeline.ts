import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../contracts/errors';
import { isPipelineDefinition, type PipelineDefinition } from './define-pipeline';

/** A pipeline module that cannot be used: missing, throwing on load, or exporting no pipeline. */
export class PipelineModuleError extends UserError {}

const EXPECTED =
  'a compiled JavaScript module (CommonJS or ESM) whose default export, or export named "pipeline", is made by definePipeline() from \'ragscope\'';

export interface LoadedPipeline {
  definition: PipelineDefinition<unknown>;
  /** Absolute path of the module. */
  modulePath: string;
  /** The module's project root (nearest folder with a package.json): profiles report its files relative to it. */
  sourceRoot: string;
}

/** The module ragscope runs when no other is given: its sample pipeline, compiled beside this file. */
export function samplePipelineModule(): string {
  const compiled = path.join(__dirname, 'sample-pipeline.js');
  // From sources (tsx, vitest) there is no compiled file beside this one.
  return existsSync(compiled) ? compiled : path.join(__dirname, 'sample-pipeline.ts');
}

/**
 * Loads a pipeline module by path (relative to `cwd`). A real `import()`, kept as one in the
 * compiled CommonJS (tsconfig's module node16), so ESM modules load as well as CommonJS ones.
 */
export async function loadPipelineModule(modulePath: string, cwd = process.cwd()): Promise<LoadedPipeline> {
  const absolute = path.resolve(cwd, modulePath);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new PipelineModuleError(`pipeline module ${modulePath} not found (looked for ${absolute}): expected ${EXPECTED} (TypeScript: build first)`);
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error).split('\n')[0];
    throw new PipelineModuleError(`pipeline module ${modulePath} threw while loading (${reason}): expected ${EXPECTED}`);
  }
  const definition = pickPipeline(loaded);
  if (!definition) {
    throw new PipelineModuleError(`pipeline module ${modulePath} exports no pipeline (found ${describeExports(loaded)}): expected ${EXPECTED}`);
  }
  return { definition, modulePath: absolute, sourceRoot: projectRoot(absolute) };
}

/**
 * The default export or the export named `pipeline`. A CommonJS module's `exports.default` (what
 * TypeScript makes of `export default`) arrives as `default.default` through import().
 */
function pickPipeline(loaded: Record<string, unknown>): PipelineDefinition<unknown> | undefined {
  const commonJs = loaded.default as Record<string, unknown> | undefined;
  const candidates = [loaded.default, loaded.pipeline, commonJs?.default, commonJs?.pipeline];
  return candidates.find(isPipelineDefinition);
}

function describeExports(loaded: Record<string, unknown>): string {
  const names = Object.keys(loaded).filter((name) => name !== '__esModule' && name !== 'module.exports');
  if (names.length === 0) return 'no exports';
  return names.map((name) => `${name === 'default' ? 'default export' : `"${name}"`} (${describeValue(loaded[name])})`).join(', ');
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object not made by definePipeline()';
  return `a ${typeof value}`;
}

function projectRoot(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return path.dirname(file);
}
