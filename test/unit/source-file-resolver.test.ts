import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package-info';
import { loadBuildSourceMaps, sourceFileResolver } from '../../src/telemetry/profiling/job-profiler';
import { BuildSourceMaps } from '../../src/telemetry/profiling/source-maps';

// `npm test` builds dist/ first (pretest), with source maps beside every compiled file.
const COMPILED_RERANK = path.join(PACKAGE_ROOT, 'dist', 'src', 'pipeline', 'rerank.js');
const emptyDir = mkdtempSync(path.join(tmpdir(), 'ragscope-no-maps-'));
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

describe('sourceFileResolver', () => {
  it('names the TypeScript source of a compiled file whose source map was loaded', async () => {
    const mapper = await loadBuildSourceMaps(() => undefined);
    expect(mapper).toBeDefined();
    expect(sourceFileResolver(mapper)(COMPILED_RERANK)).toBe('src/pipeline/rerank.ts');
  });

  it('keeps the compiled .js name when no source map covers the file, because its line numbers are JavaScript lines', async () => {
    const withoutMaps = await BuildSourceMaps.load([emptyDir]);
    expect(sourceFileResolver(withoutMaps)(COMPILED_RERANK)).toBe('dist/src/pipeline/rerank.js');
    expect(sourceFileResolver(undefined)(COMPILED_RERANK)).toBe('dist/src/pipeline/rerank.js');
  });

  it('leaves files outside the build alone', async () => {
    const mapper = await loadBuildSourceMaps(() => undefined);
    expect(sourceFileResolver(mapper)(path.join(PACKAGE_ROOT, 'node_modules', 'pg', 'lib', 'client.js'))).toBe('node_modules/pg/lib/client.js');
  });

  it('says why on the warning channel when the build cannot be read, and profiles then keep .js names', async () => {
    const warnings: string[] = [];
    // A real read failure: the search "directory" is a file.
    const mapper = await loadBuildSourceMaps((message) => warnings.push(message), path.join(PACKAGE_ROOT, 'package.json'));
    expect(mapper).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining('source maps of the build could not be read (ENOTDIR')]);
    expect(sourceFileResolver(mapper)(COMPILED_RERANK)).toBe('dist/src/pipeline/rerank.js');
  });
});
