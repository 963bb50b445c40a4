import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleSources } from '../../bench/compiled-build';

describe('bench/compiled-build staleSources', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  /** A src/ and a dist/src/ with one module each, the source `sourceAgeS` and the build `builtAgeS` seconds old. */
  function project(sourceAgeS: number, builtAgeS: number | undefined): { sourceDir: string; buildDir: string } {
    const root = mkdtempSync(path.join(tmpdir(), 'ragscope-stale-'));
    roots.push(root);
    const sourceDir = path.join(root, 'src');
    const buildDir = path.join(root, 'dist', 'src');
    mkdirSync(path.join(sourceDir, 'worker'), { recursive: true });
    mkdirSync(path.join(buildDir, 'worker'), { recursive: true });
    const now = Date.now() / 1000;
    const source = path.join(sourceDir, 'worker', 'runtime.ts');
    writeFileSync(source, 'export {};\n');
    utimesSync(source, now - sourceAgeS, now - sourceAgeS);
    // A declaration file has no output of its own and must not count.
    writeFileSync(path.join(sourceDir, 'worker', 'types.d.ts'), 'export {};\n');
    if (builtAgeS !== undefined) {
      const built = path.join(buildDir, 'worker', 'runtime.js');
      writeFileSync(built, '"use strict";\n');
      utimesSync(built, now - builtAgeS, now - builtAgeS);
    }
    return { sourceDir, buildDir };
  }

  it('passes a build newer than its sources', () => {
    const { sourceDir, buildDir } = project(60, 10);
    expect(staleSources(sourceDir, buildDir)).toEqual([]);
  });

  it('names a source edited after the build', () => {
    const { sourceDir, buildDir } = project(10, 60);
    expect(staleSources(sourceDir, buildDir)).toEqual([expect.stringMatching(/worker[/\\]runtime\.ts$/)]);
  });

  it('names a source that was never built', () => {
    const { sourceDir, buildDir } = project(10, undefined);
    expect(staleSources(sourceDir, buildDir)).toHaveLength(1);
  });
});
