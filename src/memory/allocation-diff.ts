import type { Profile } from 'pprof-format';
import type { GrowingSite } from '../contracts/leak-check';

/**
 * Live bytes by allocation site of a sampling heap profile. The site is the innermost frame with a
 * source file: builtins (`Array.from`, `JSON.parse`) and Node internals allocate on behalf of their
 * caller, and the caller is the line a reader can change.
 */
function liveBytesBySite(profile: Profile, resolveFile: (file: string) => string): Map<string, GrowingSite> {
  const strings = profile.stringTable.strings;
  const text = (index: number | bigint | undefined): string => strings[Number(index ?? 0)] ?? '';
  const types = profile.sampleType.map((valueType) => text(valueType.type));
  const spaceIndex = Math.max(types.indexOf('inuse_space'), types.indexOf('space'));
  const locations = new Map(profile.location.map((location) => [String(location.id), location]));
  const functions = new Map(profile.function.map((fn) => [String(fn.id), fn]));
  const sites = new Map<string, GrowingSite>();
  for (const sample of profile.sample) {
    const bytes = Number(sample.value[spaceIndex] ?? 0);
    const frames = sample.locationId.map((id) => {
      const line = locations.get(String(id))?.line[0];
      return { line, fn: line ? functions.get(String(line.functionId)) : undefined };
    });
    const isSourceFrame = (frame: (typeof frames)[number]): boolean => {
      const file = frame.fn ? text(frame.fn.filename) : '';
      return file !== '' && !file.startsWith('node:');
    };
    const { line, fn } = frames.find(isSourceFrame) ?? frames[0] ?? { line: undefined, fn: undefined };
    const site = {
      function: fn ? text(fn.name) || '(anonymous)' : '(unknown)',
      file: fn ? resolveFile(text(fn.filename)) : '',
      line: Number(line?.line ?? 0),
    };
    const key = `${site.function}\u0000${site.file}\u0000${site.line}`;
    const entry = sites.get(key) ?? { ...site, bytes: 0 };
    entry.bytes += bytes;
    sites.set(key, entry);
  }
  return sites;
}

/**
 * The allocation sites whose live memory grew most from `before` to `after`: where a leak's
 * objects were allocated. Sites that shrank or stayed are left out.
 */
export function topGrowingSites(
  before: Profile,
  after: Profile,
  options: { top?: number; resolveFile?: (file: string) => string } = {},
): GrowingSite[] {
  const resolveFile = options.resolveFile ?? ((file: string) => file);
  const start = liveBytesBySite(before, resolveFile);
  return [...liveBytesBySite(after, resolveFile).entries()]
    .map(([key, site]) => ({ ...site, bytes: site.bytes - (start.get(key)?.bytes ?? 0) }))
    .filter((site) => site.bytes > 0)
    .sort((left, right) => right.bytes - left.bytes)
    .slice(0, options.top ?? 5);
}
