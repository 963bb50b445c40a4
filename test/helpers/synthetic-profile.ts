import { Function as ProfileFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';

/** One stack of a synthetic profile: frames leaf first, as `name@file:line`, and its sample value. */
export interface SyntheticStack {
  frames: string[];
  value: number;
}

/**
 * A pprof Profile with exactly the samples given, so ranking and rendering can be checked against
 * numbers known in advance instead of the split of a live profile (which moves with machine load).
 */
export function syntheticProfile(stacks: SyntheticStack[], sampleType = { type: 'wall', unit: 'nanoseconds' }): Profile {
  const strings = new StringTable();
  const functions = new Map<string, ProfileFunction>();
  const locations = new Map<string, Location>();
  const locationFor = (frame: string): Location => {
    const existing = locations.get(frame);
    if (existing) return existing;
    const match = /^(.*)@(.*):(\d+)$/.exec(frame);
    if (!match) throw new Error(`frame must look like name@file:line, got ${frame}`);
    const [, name, file, line] = match;
    const functionKey = `${name}@${file}`;
    let fn = functions.get(functionKey);
    if (!fn) {
      fn = new ProfileFunction({ id: functions.size + 1, name: strings.dedup(name!), filename: strings.dedup(file!) });
      functions.set(functionKey, fn);
    }
    const location = new Location({ id: locations.size + 1, line: [new Line({ functionId: fn.id, line: Number(line) })] });
    locations.set(frame, location);
    return location;
  };
  const samples = stacks.map(
    (stack) => new Sample({ locationId: stack.frames.map((frame) => locationFor(frame).id), value: [stack.value] }),
  );
  return new Profile({
    sampleType: [new ValueType({ type: strings.dedup(sampleType.type), unit: strings.dedup(sampleType.unit) })],
    sample: samples,
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
  });
}
