import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserError, ValidationError } from '../../contracts/errors';
import { decodeProfile, rankHotspots } from '../../telemetry/profiling/hotspots';
import { renderFlameGraph } from '../../telemetry/profiling/flamegraph';
import { loadBuildSourceMaps, sourceFileResolver } from '../../telemetry/profiling/job-profiler';
import { formatRankedProfile } from '../format';
import { integerOption, printJson, runCommand } from '../run-command';

interface HotspotsOptions {
  top: number;
  json?: boolean;
  svg?: string;
  sampleType?: string;
}

export function registerHotspotsCommand(program: Command): void {
  program
    .command('hotspots')
    .description('rank the hottest functions (file:line, self time) of a saved .pprof profile')
    .argument('<file>', 'a .pprof file: a per-job profile, or one written by the dd-trace file exporter')
    .option('-n, --top <n>', 'how many functions', integerOption(1, 1000), 5)
    .option('--sample-type <type>', 'value to rank by, e.g. wall, cpu, space (default: wall, then cpu, then space)')
    .option('--svg <out.svg>', 'also write a flame graph you can open in a browser')
    .option('--json', 'print { sampleType, unit, total, hotspots } as JSON')
    .addHelpText('after', '\nExamples:\n  ragscope hotspots .ragscope/profiles/job-42-1796115897112.pprof\n  ragscope hotspots wall.pprof --top 20 --svg flame.svg')
    .action(
      runCommand(async (file: string, options: HotspotsOptions) => {
        const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
          throw new UserError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        });
        let profile;
        try {
          profile = decodeProfile(bytes);
        } catch (error) {
          throw new ValidationError(`${file} is not a pprof profile (${(error as Error).message})`);
        }
        const ranked = rankHotspots(profile, { top: options.top, sampleType: options.sampleType, resolveFile: sourceFileResolver(await loadBuildSourceMaps((message) => process.stderr.write(`warning: ${message}\n`))) });
        if (options.svg) await writeFile(options.svg, renderFlameGraph(profile, { sampleType: ranked.sampleType }));
        if (options.json) {
          printJson({ sampleType: ranked.sampleType, unit: ranked.unit, total: ranked.totalValue, hotspots: ranked.hotspots, ...(options.svg ? { svg: options.svg } : {}) });
          return;
        }
        process.stdout.write(formatRankedProfile(ranked));
        if (options.svg) process.stdout.write(`flame graph: ${options.svg}\n`);
      }),
    );
}
