import path from 'node:path';
import type { CodeSite } from '../contracts/hotspot';
import type { LeakCheckResult } from '../contracts/leak-check';
import type { RagQueryResult } from '../contracts/rag-query';
import type { RankedProfile } from '../telemetry/profiling/hotspots';

/** The human-readable output of every command that prints job results or profiles. */

export function formatQueryResult(result: RagQueryResult): string {
  const lines = [`answer: ${result.answer}`, 'sources:'];
  for (const source of result.sources) lines.push(`  ${source.id}  ${source.score?.toFixed(3) ?? '-'}  ${source.title ?? ''}`.trimEnd());
  lines.push(`stages: ${result.stages.map((stage) => `${stage.name} ${stage.durationMs.toFixed(1)} ms`).join(' | ')}`);
  for (const plan of result.plans ?? []) {
    if (plan.reused) lines.push(`sql plan reused from ${plan.plannedAt} (sampled profiles plan a statement once per RAGSCOPE_PLAN_INTERVAL_SECONDS)`);
  }
  for (const finding of result.findings ?? []) lines.push(`sql finding [${finding.severity}] ${finding.rule}: ${finding.message} → ${finding.suggestion}`);
  if (result.traceId) lines.push(`trace: ${result.traceId}  (ragscope trace ${result.traceId})`);
  if (result.hotspots) lines.push(...hotspotLines(result.hotspots, (hotspot) => hotspot.selfMs, 'ms'));
  if (result.profilePath) lines.push(`profile: ${relativePath(result.profilePath)}  (ragscope hotspots ${relativePath(result.profilePath)})`);
  return `${lines.join('\n')}\n`;
}

export function formatLeakCheckResult(result: LeakCheckResult): string {
  const lines = [
    result.verdict,
    `heap: ${result.samples[0]?.heapUsedMb.toFixed(1)} MB → ${result.samples.at(-1)?.heapUsedMb.toFixed(1)} MB over ${result.samples.length} iterations`,
  ];
  if (result.topGrowingSites.length > 0) {
    lines.push('top growing allocation sites:');
    for (const site of result.topGrowingSites) lines.push(`  ${(site.bytes / 1024).toFixed(0).padStart(8)} KB  ${codeSite(site)}`);
  } else if (result.attributionUnavailable) {
    lines.push(`allocation sites: ${result.attributionUnavailable}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A ranking of any saved profile: self time for wall and CPU profiles, self bytes for heap ones. */
export function formatRankedProfile(ranked: RankedProfile): string {
  const lines = [`${ranked.sampleType} profile, ${ranked.totalValue} ${ranked.unit} busy`];
  if (ranked.selfField === 'selfMs') lines.push(...hotspotLines(ranked.hotspots, (row) => row.selfMs, 'ms'));
  else if (ranked.selfField === 'selfBytes') lines.push(...hotspotLines(ranked.hotspots, (row) => row.selfBytes, 'bytes'));
  else lines.push(...hotspotLines(ranked.hotspots, (row) => row.selfCount, ranked.unit));
  return `${lines.join('\n')}\n`;
}

function hotspotLines<Row extends CodeSite & { selfPercent: number }>(rows: Row[], self: (row: Row) => number, unit: string): string[] {
  return [
    `hotspots (self ${unit === 'ms' ? 'time' : unit}):`,
    ...rows.map((row) => `  ${row.selfPercent.toFixed(1).padStart(5)}%  ${self(row).toFixed(1).padStart(9)} ${unit}  ${codeSite(row)}`),
  ];
}

/** Files in results are already relative to the project root (see reportPath). */
function codeSite(site: CodeSite): string {
  return `${site.function}  ${site.file}:${site.line}`;
}

function relativePath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}
