import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encode, time } from '@datadog/pprof';
import { PACKAGE_ROOT } from '../../package-info';
import type { Hotspot } from '../../contracts/hotspot';
import { rankHotspots, timeHotspots } from './hotspots';
import { processCpuMs } from './process-cpu';
import { reportPath } from './report-path';
import { BuildSourceMaps } from './source-maps';

const DIST_DIR = path.join(PACKAGE_ROOT, 'dist') + path.sep;

/**
 * Names a profiled frame's file as results show it: the TypeScript source, relative to the project
 * root (see reportPath). @datadog/pprof names a function's file after the first frame of it that it
 * sees; when that frame's line had no source mapping the file stays the compiled one although the
 * other lines were mapped, so a compiled file whose source map was loaded is renamed to the
 * TypeScript file beside the build. Without that map its line numbers are JavaScript lines, and
 * the `.js` name stays: a `.ts` name on a `.js` line number sends the reader to the wrong line.
 */
export function sourceFileResolver(
  sourceMapper: Pick<BuildSourceMaps, 'hasMappingInfo'> | undefined,
  /**
   * The pipeline's project root when it is not ragscope's (`--pipeline`, an installed package): that
   * project's files are reported relative to it, not as absolute paths.
   */
  sourceRoot?: string,
): (file: string) => string {
  const ownRoot = !sourceRoot || path.resolve(sourceRoot) === PACKAGE_ROOT;
  return (file) => {
    let source = file;
    if (file.startsWith(DIST_DIR) && file.endsWith('.js') && sourceMapper?.hasMappingInfo(file)) {
      const candidate = path.join(PACKAGE_ROOT, file.slice(DIST_DIR.length, -'.js'.length) + '.ts');
      if (existsSync(candidate)) source = candidate;
    }
    const reported = reportPath(source, PACKAGE_ROOT);
    return ownRoot || !(path.isAbsolute(reported) || reported.startsWith('file://')) ? reported : reportPath(reported, sourceRoot);
  };
}

/**
 * The build's source maps, or undefined (said once on the log) when they cannot be read: then
 * file:line point at the compiled JavaScript, which is still a place a reader can open.
 */
export async function loadBuildSourceMaps(
  warn: (message: string) => void,
  buildDir = path.join(PACKAGE_ROOT, 'dist'),
  /** A pipeline module's folder besides ragscope's build: that build's own maps (the walk skips node_modules). */
  pipelineDir?: string,
): Promise<BuildSourceMaps | undefined> {
  const searchDirs = [buildDir];
  const relative = pipelineDir ? path.relative(buildDir, pipelineDir) : '';
  if (pipelineDir && (relative.startsWith('..') || path.isAbsolute(relative))) searchDirs.push(pipelineDir);
  try {
    return await BuildSourceMaps.load(searchDirs);
  } catch (error) {
    warn(`source maps of the build could not be read (${(error as Error).message}): hotspots name compiled .js files and lines`);
    return undefined;
  }
}

export interface JobProfile<T> {
  value: T;
  hotspots: Hotspot[];
  profilePath: string;
  /**
   * CPU time the process spent starting, stopping, encoding, writing and ranking: the cost the
   * overhead cap counts, in the unit it is weighed against (the worker's CPU time).
   */
  profilingMs: number;
}

export interface JobProfilerOptions {
  outputDir: string;
  top: number;
  /** Sampling period. 1 ms gives ~100 samples for a 100 ms job; V8's default of 10 ms gives ten. */
  intervalMicros?: number;
  /** Where a degraded start (no source maps) is said. */
  warn: (message: string) => void;
  /** The pipeline's project root, when it is not ragscope's (see sourceFileResolver). */
  sourceRoot?: string;
  /** The pipeline module's folder: its source maps are read too. */
  sourceMapDir?: string;
}

/**
 * Profiles one job's wall time with @datadog/pprof. Line numbers come from the compiled JavaScript
 * and are mapped back to the TypeScript sources through the build's source maps.
 */
export class JobProfiler {
  /** Our own profile running now: then the wall profiler is busy with us, not held by dd-trace. */
  private ownProfiles = 0;

  /** A profiled frame's file as results show it; shared with heap profiles of the same process. */
  readonly resolveFile: (file: string) => string;

  private constructor(
    private readonly options: JobProfilerOptions,
    /** Maps compiled positions to TypeScript ones; shared with heap profiles of the same process. */
    readonly sourceMapper: BuildSourceMaps | undefined,
  ) {
    this.resolveFile = sourceFileResolver(sourceMapper, options.sourceRoot);
  }

  static async create(options: JobProfilerOptions): Promise<JobProfiler> {
    const sourceMapper = await loadBuildSourceMaps(options.warn, undefined, options.sourceMapDir);
    await mkdir(options.outputDir, { recursive: true });
    return new JobProfiler(options, sourceMapper);
  }

  /**
   * Why a profile cannot be taken now, or undefined. Only one wall profiler may run per isolate: when
   * the dd-trace continuous profiler holds it, per-job profiles step aside instead of throwing.
   */
  unavailableReason(): string | undefined {
    return time.isStarted() && this.ownProfiles === 0
      ? 'the wall profiler is in use (the continuous profiler, DD_PROFILING_ENABLED=true, owns it)'
      : undefined;
  }

  async profile<T>(jobId: string, work: () => Promise<T>): Promise<JobProfile<T>> {
    this.ownProfiles++;
    try {
      return await this.profileAlone(jobId, work);
    } finally {
      this.ownProfiles--;
    }
  }

  private async profileAlone<T>(jobId: string, work: () => Promise<T>): Promise<JobProfile<T>> {
    // CPU, not wall time: under CPU contention wall time stretches while the cap's denominator (the
    // worker's CPU time) does not, and a wall-time numerator stopped slow-job profiles on a busy
    // machine at "5.2%". process.cpuUsage counts every thread, so V8's profiler threads are charged too.
    let profilingMs = 0;
    const timed = <R>(step: () => R): R => {
      const before = processCpuMs();
      try {
        return step();
      } finally {
        profilingMs += processCpuMs() - before;
      }
    };
    timed(() =>
      time.start({ lineNumbers: true, intervalMicros: this.options.intervalMicros ?? 1000, sourceMapper: this.sourceMapper?.forPprof() }),
    );
    const outcome = await work().then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    // Stopped on failure too: a profiler left running would block every later profile.
    const profile = timed(() => time.stop());
    if (!outcome.ok) throw outcome.error;
    const value = outcome.result;
    const before = processCpuMs();
    const profilePath = path.join(this.options.outputDir, `job-${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}-${Date.now()}.pprof`);
    await writeFile(profilePath, await encode(profile));
    const hotspots = timeHotspots(rankHotspots(profile, { top: this.options.top, resolveFile: this.resolveFile }));
    profilingMs += processCpuMs() - before;
    return { value, hotspots, profilePath, profilingMs: Math.round(profilingMs * 100) / 100 };
  }
}
