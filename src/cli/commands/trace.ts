import type { Command } from 'commander';
import { loadConfig } from '../../config/config';
import { ServiceUnavailableError, UserError, ValidationError } from '../../contracts/errors';
import { normaliseTraceIdQuery, type ExportedSpan } from '../../telemetry/intake/exported-span';
import type { TraceSummary } from '../../telemetry/intake/span-store';
import { renderWaterfall } from '../../telemetry/intake/waterfall';
import { printJson, runCommand, secondsOption } from '../run-command';

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description('print a trace kept by `ragscope intake` as a waterfall; without an id, list recent traces')
    .argument('[traceId]', 'trace id: 32 or 16 hex digits, or a decimal Datadog id')
    .option('--intake <url>', 'intake address (default DD_TRACE_AGENT_URL or http://127.0.0.1:8126)')
    .option('--wait <seconds>', 'wait this long for the trace to arrive (tracers flush every few seconds)', secondsOption(300))
    .option('--json', 'print the spans as JSON')
    .action(
      runCommand(async (traceId: string | undefined, options: { intake?: string; wait?: number; json?: boolean }) => {
        const intakeUrl = (options.intake ?? loadConfig().agentUrl).replace(/\/+$/, '');
        if (!traceId) {
          const { traces } = await fetchIntake<{ traces: TraceSummary[] }>(intakeUrl, '/ragscope/traces');
          if (options.json) return printJson(traces);
          if (traces.length === 0) return void process.stdout.write('no traces yet\n');
          for (const summary of traces) {
            process.stdout.write(
              `${summary.traceId}  ${new Date(summary.startMs).toISOString()}  ${summary.rootName.padEnd(12)}  ` +
                `${String(summary.spanCount).padStart(3)} spans  ${summary.durationMs.toFixed(1)} ms${summary.error ? '  ERROR' : ''}\n`,
            );
          }
          return;
        }
        const query = normaliseTraceIdQuery(traceId);
        if (!query) throw new ValidationError(`"${traceId}" is not a trace id (32 or 16 hex digits, or a decimal id)`);
        const deadline = Date.now() + (options.wait ?? 0) * 1000;
        let spans: ExportedSpan[] = [];
        for (;;) {
          ({ spans } = await fetchIntake<{ spans: ExportedSpan[] }>(intakeUrl, `/ragscope/traces/${query}`));
          if (spans.length > 0 || Date.now() >= deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        if (spans.length === 0) throw new UserError(`no spans of trace ${traceId} at ${intakeUrl}`, 'it may not be flushed yet: try --wait 5');
        if (options.json) return printJson(spans);
        process.stdout.write(`${renderWaterfall(spans)}\n`);
      }),
    );
}

async function fetchIntake<T>(intakeUrl: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${intakeUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new ServiceUnavailableError(
      `no ragscope intake answers at ${intakeUrl} (${(error as Error).message})`,
      'start one with `ragscope intake` (traces sent while it was down are not kept)',
    );
  }
  if (response.status === 404) {
    throw new ServiceUnavailableError(
      `${intakeUrl} is not a ragscope intake (a Datadog agent?)`,
      'traces sent to a Datadog agent are in Datadog APM; pass --intake for a local intake',
    );
  }
  if (!response.ok) throw new UserError(`intake answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}
