import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkArchitecture, concernOf, folderCycles } from '../../scripts/check-architecture';

const repo = path.join(__dirname, '../..');

/** A copy of the code with deliberate violations, checked by the same command as the real tree. */
function copyWithViolations(): string {
  const copy = mkdtempSync(path.join(tmpdir(), 'ragscope-architecture-'));
  for (const entry of ['src', 'workers', 'bench', 'scripts', 'tsconfig.json', 'package.json', '.dependency-cruiser.cjs']) {
    cpSync(path.join(repo, entry), path.join(copy, entry), { recursive: true });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  // Up: the SQL-plan analysis reaching into the pipeline that uses it.
  writeFileSync(path.join(copy, 'src/sql-plans/uses-pipeline.ts'), "export { definePipeline } from '../pipeline/define-pipeline';\n");
  // Sideways both ways: db and telemetry share a layer, but may not need each other (no module cycle).
  writeFileSync(path.join(copy, 'src/db/tagged.ts'), "export * from '../telemetry/span-tags';\n");
  writeFileSync(path.join(copy, 'src/telemetry/uses-db.ts'), "export type { SqlClient } from '../db/sql-client';\n");
  // A folder nobody placed in a layer.
  mkdirSync(path.join(copy, 'src/misc'));
  writeFileSync(path.join(copy, 'src/misc/helper.ts'), "export { redactUrl } from '../config/config';\n");
  return copy;
}

describe('the dependency rules (ARCHITECTURE.md)', () => {
  const copy = copyWithViolations();
  afterAll(() => rmSync(copy, { recursive: true, force: true }));
  const [real, broken] = [checkArchitecture(repo), checkArchitecture(copy)];

  it('hold for the code as it is', async () => {
    expect(await real).toEqual([]);
  }, 120_000);

  it('fail when src/sql-plans imports from src/pipeline', async () => {
    expect(await broken).toContainEqual(expect.stringMatching(/^no-upward-import-from-sql-plans: src\/sql-plans\/uses-pipeline\.ts → src\/pipeline\/define-pipeline\.ts$/));
  }, 120_000);

  it('fail when two folders of one layer import each other without a module cycle', async () => {
    expect(await broken).toContainEqual(expect.stringMatching(/^no-cycle-between-folders: src\/db, src\/telemetry import each other/));
  }, 120_000);

  it('fail when a folder under src/ has no layer', async () => {
    expect(await broken).toContainEqual(expect.stringMatching(/^every-src-module-has-a-layer: src\/misc\/helper\.ts/));
  }, 120_000);
});

describe('concernOf', () => {
  it.each([
    ['src/queue/keys.ts', 'src/queue'],
    ['src/telemetry/profiling/hotspots.ts', 'src/telemetry'],
    ['src/log.ts', 'src/log.ts'],
    ['workers/rag-query.ts', 'workers'],
    ['bench/scale.ts', 'bench'],
    ['node_modules/zod/index.js', undefined],
  ])('%s belongs to %s', (modulePath, concern) => {
    expect(concernOf(modulePath)).toBe(concern);
  });
});

describe('folderCycles', () => {
  const graph = (pairs: [string, string][]) => {
    const edges = new Map<string, Set<string>>();
    for (const [from, to] of pairs) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    return edges;
  };

  it.each<[string, [string, string][], string[][]]>([
    ['a layered graph', [['cli', 'queue'], ['queue', 'config'], ['cli', 'config']], []],
    ['two folders importing each other', [['db', 'telemetry'], ['telemetry', 'db']], [['db', 'telemetry']]],
    ['a three-folder loop', [['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']], [['a', 'b', 'c']]],
    ['two separate loops', [['a', 'b'], ['b', 'a'], ['c', 'd'], ['d', 'c']], [['a', 'b'], ['c', 'd']]],
  ])('finds %s', (_name, pairs, expected) => {
    expect(folderCycles(graph(pairs))).toEqual(expected);
  });
});
