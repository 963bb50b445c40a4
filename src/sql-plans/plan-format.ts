/** Number formatting shared by finding messages and the plan tree, so both read the same. */

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  // 99.8% and 0.4% need the decimal; 85% does not.
  return `${percent >= 10 && percent <= 90 ? Math.round(percent) : Number(percent.toFixed(1))}%`;
}

export function formatMs(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 1) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(3)} ms`;
}

export function formatKb(kilobytes: number): string {
  if (kilobytes >= 10 * 1024) return `${(kilobytes / 1024).toFixed(0)} MB`;
  if (kilobytes >= 1024) return `${(kilobytes / 1024).toFixed(1)} MB`;
  return `${formatCount(kilobytes)} kB`;
}

/** A work_mem value worth trying, in whole MB, for a step that needed `kilobytes`. */
export function workMemSuggestion(kilobytes: number): string {
  const megabytes = Math.max(1, Math.ceil(kilobytes / 1024));
  // Round up to 1, 2, 4, 8 … MB: work_mem is a coarse knob and a power of two reads as a choice.
  return `${2 ** Math.ceil(Math.log2(megabytes))}MB`;
}

export function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
