import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package-info';
import { BuildSourceMaps } from '../../src/telemetry/profiling/source-maps';

const root = mkdtempSync(path.join(tmpdir(), 'ragscope-source-maps-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Generated line 1 ← src/a.ts line 3, column 2; generated line 2, column 4 ← line 7, column 0.
// Segments: [generated column, source, original line, original column] in base64 VLQ.
const MAP = { version: 3, sources: ['../src/a.ts'], names: [], mappings: 'AAEE;IAIF' };

function compiled(relative: string, body: string): string {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, body);
  return file;
}

describe('BuildSourceMaps', () => {
  it('reads a map named by sourceMappingURL, by <file>.map, or inline, and skips node_modules', async () => {
    const annotated = compiled('out/annotated.js', 'x();\n  y();\n//# sourceMappingURL=maps/annotated.js.map\n');
    compiled('out/maps/annotated.js.map', JSON.stringify({ ...MAP, sources: ['../../src/a.ts'] }));
    const beside = compiled('out/beside.cjs', 'x();\n');
    compiled('out/beside.cjs.map', JSON.stringify(MAP));
    const inline = compiled('out/inline.mjs', `x();\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(MAP)).toString('base64')}\n`);
    const vendored = compiled('out/node_modules/dep/index.js', 'x();\n');
    compiled('out/node_modules/dep/index.js.map', JSON.stringify(MAP));
    const bare = compiled('out/bare.js', 'x();\n');

    const maps = await BuildSourceMaps.load([path.join(root, 'out')]);
    expect([annotated, beside, inline].map((file) => maps.hasMappingInfo(file))).toEqual([true, true, true]);
    expect(maps.hasMappingInfo(vendored)).toBe(false);
    expect(maps.hasMappingInfo(bare)).toBe(false);
    expect(maps.size).toBe(3);
    // Sources resolve against the map's own folder.
    expect(maps.mappingInfo({ file: annotated, line: 1, column: 0, name: 'f' })).toEqual({ file: path.join(root, 'src/a.ts'), line: 3, column: 3, name: 'f' });
    expect(maps.mappingInfo({ file: inline, line: 1, column: 0 }).file).toBe(path.join(root, 'src/a.ts'));
  });

  it('takes the first mapping of a line when V8 gave no column, and the one at or before a column it gave', async () => {
    const file = compiled('columns/code.js', 'x();\n    y();\n');
    compiled('columns/code.js.map', JSON.stringify({ ...MAP, sources: ['a.ts'] }));
    const maps = await BuildSourceMaps.load([path.join(root, 'columns')]);
    expect(maps.mappingInfo({ file, line: 2, column: 0 })).toMatchObject({ line: 7, column: 1 });
    expect(maps.mappingInfo({ file, line: 2, column: 9 })).toMatchObject({ line: 7, column: 1 });
    // Before the line's first mapping, with a column given: nothing maps, the location stays as it was.
    expect(maps.mappingInfo({ file, line: 2, column: 2, name: 'g' })).toEqual({ file, line: 2, column: 2, name: 'g' });
  });

  it('treats a malformed map as none and a missing folder as empty, and refuses a folder it cannot read', async () => {
    const file = compiled('broken/code.js', 'x();\n');
    compiled('broken/code.js.map', '{ not json');
    expect((await BuildSourceMaps.load([path.join(root, 'broken'), path.join(root, 'absent')])).hasMappingInfo(file)).toBe(false);
    await expect(BuildSourceMaps.load([path.join(PACKAGE_ROOT, 'package.json')])).rejects.toThrow(/ENOTDIR/);
  });

  it("maps the build's own compiled lines to their TypeScript lines", async () => {
    // `npm test` builds dist/ first. rerank.ts declares rerankByCosine on its own line; find both.
    const { readFileSync } = await import('node:fs');
    const compiledFile = path.join(PACKAGE_ROOT, 'dist/src/pipeline/rerank.js');
    const jsLine = readFileSync(compiledFile, 'utf8').split('\n').findIndex((line) => line.includes('function rerankByCosine(')) + 1;
    const tsLine = readFileSync(path.join(PACKAGE_ROOT, 'src/pipeline/rerank.ts'), 'utf8').split('\n').findIndex((line) => line.includes('function rerankByCosine(')) + 1;
    const maps = await BuildSourceMaps.load([path.join(PACKAGE_ROOT, 'dist')]);
    expect(maps.mappingInfo({ file: compiledFile, line: jsLine, column: 0 })).toMatchObject({ file: path.join(PACKAGE_ROOT, 'src/pipeline/rerank.ts'), line: tsLine });
  });
});
