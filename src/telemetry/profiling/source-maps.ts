import { opendir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, originalPositionFor, TraceMap, type SourceMapInput } from '@jridgewell/trace-mapping';
import type { SourceMapper } from '@datadog/pprof';

/**
 * A position in a profile, as @datadog/pprof's serializer hands it to a source mapper: the
 * compiled file, a 1-based line and a 1-based column (0 when V8 gave none).
 */
export interface ProfileLocation {
  file: string;
  line: number;
  column?: number;
  name?: string;
}

/**
 * Source maps of compiled JavaScript, read in pure JavaScript (@jridgewell/trace-mapping).
 *
 * Why not @datadog/pprof's own SourceMapper: it reads maps with source-map 0.8, which parses them in
 * WebAssembly, and a WebAssembly memory that grows detaches its old ArrayBuffer. The first detached
 * ArrayBuffer in a process invalidates a V8 protector for good: every function that reads a typed
 * array is deoptimised and recompiled with checks for detached buffers. Measured on a worker whose
 * pipeline computes over Float64Arrays (bench/cpu-bound-pipeline.cjs), the first per-job profile made
 * every later job's loop take 40 ms of CPU instead of 27 (apm-overhead --job-cpu-ms: 1.5 times the CPU
 * per job at 1% capture, where the overhead cap was charged 0.7%). Embeddings and similarity scores
 * are typed-array code, so a RAG pipeline pays this on every job after its first profile.
 */
export class BuildSourceMaps {
  private readonly traced = new Map<string, TraceMap>();

  private constructor(
    /** Each compiled file with a map, by absolute path: the parsed map and the map's own path (sources resolve against it). */
    private readonly maps: Map<string, { map: SourceMapInput; mapPath: string }>,
  ) {}

  /**
   * Reads the maps of every `.js`, `.cjs` and `.mjs` file under `searchDirs` (node_modules and .git
   * skipped): the file's `sourceMappingURL` (a path or an inline data: URL), else `<file>.map`.
   */
  static async load(searchDirs: readonly string[]): Promise<BuildSourceMaps> {
    const maps = new Map<string, { map: SourceMapInput; mapPath: string }>();
    for (const dir of searchDirs) {
      for await (const file of compiledFiles(path.resolve(dir))) {
        if (maps.has(file)) continue;
        const found = await readMapOf(file);
        if (found) maps.set(file, found);
      }
    }
    return new BuildSourceMaps(maps);
  }

  /** Maps read, for a start-up log line and tests. */
  get size(): number {
    return this.maps.size;
  }

  hasMappingInfo(file: string): boolean {
    return this.maps.has(path.normalize(file));
  }

  /**
   * The original position of a compiled one, or the location unchanged when its file has no map or
   * the map has nothing there. Column 0 means V8 gave only a line: the first mapping on that line is
   * taken rather than none.
   */
  mappingInfo(location: ProfileLocation): ProfileLocation {
    const traced = this.traceMap(path.normalize(location.file));
    if (!traced) return location;
    const column = location.column && location.column > 0 ? location.column - 1 : 0;
    const original = originalPositionFor(traced.map, {
      line: location.line,
      column,
      bias: column === 0 ? LEAST_UPPER_BOUND : GREATEST_LOWER_BOUND,
    });
    if (original.source === null) return location;
    return {
      file: path.resolve(path.dirname(traced.mapPath), original.source),
      line: original.line,
      column: original.column + 1,
      name: original.name ?? location.name,
    };
  }

  /**
   * What @datadog/pprof's profilers take as `sourceMapper`. They call only `mappingInfo` (its
   * profile serializer, for time and heap profiles alike), which this class has with the same
   * contract; the cast covers the members of pprof's class that are never called.
   */
  forPprof(): SourceMapper {
    return this as unknown as SourceMapper;
  }

  private traceMap(file: string): { map: TraceMap; mapPath: string } | undefined {
    const entry = this.maps.get(file);
    if (!entry) return undefined;
    let traced = this.traced.get(file);
    if (!traced) {
      traced = new TraceMap(entry.map);
      this.traced.set(file, traced);
    }
    return { map: traced, mapPath: entry.mapPath };
  }
}

const COMPILED = /\.[cm]?js$/;
const SKIPPED_DIRS = new Set(['node_modules', '.git']);
const ANNOTATION = /\/\/[#@] sourceMappingURL=(\S+)\s*$/;

async function* compiledFiles(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await opendir(dir);
  } catch (error) {
    // A folder that is not there has no maps (a pipeline run without a build); one that cannot be read is said.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for await (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) yield* compiledFiles(full);
    else if (entry.isFile() && COMPILED.test(entry.name)) yield full;
  }
}

async function readMapOf(file: string): Promise<{ map: SourceMapInput; mapPath: string } | undefined> {
  const source = await readFile(file, 'utf8').catch(() => undefined);
  if (source === undefined) return undefined;
  // The annotation is the file's last line (tsc, esbuild, swc); only the tail is searched.
  const url = ANNOTATION.exec(source.slice(-4096).trimEnd())?.[1];
  if (url?.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma < 0) return undefined;
    const meta = url.slice(0, comma);
    const data = url.slice(comma + 1);
    const text = meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    return parse(text, file);
  }
  const candidates = url ? [path.resolve(path.dirname(file), url), `${file}.map`] : [`${file}.map`];
  for (const mapPath of candidates) {
    const text = await readFile(mapPath, 'utf8').catch(() => undefined);
    if (text !== undefined) return parse(text, mapPath);
  }
  return undefined;
}

function parse(text: string, mapPath: string): { map: SourceMapInput; mapPath: string } | undefined {
  try {
    return { map: JSON.parse(text) as SourceMapInput, mapPath };
  } catch {
    // A malformed map is treated as none: positions stay compiled ones, which still name a real place.
    return undefined;
  }
}
