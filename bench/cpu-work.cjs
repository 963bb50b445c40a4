// A fixed amount of CPU work, in units, shared by bench/cpu-bound-pipeline.cjs (which does it in its
// stages) and bench/apm-overhead.ts (which sizes it). Fixed work, not "spin for N ms": a loop that
// stopped on a clock would absorb whatever ragscope adds inside the job (a profiler's signal
// handler runs on the job's thread) and hide it. The bench converts a target in ms to units once,
// in its own process, and hands every worker the same count, so all configurations do equal work.

/** One unit: a dot product and a norm over 256 doubles, ~0.5–1 µs. */
const VECTOR = Float64Array.from({ length: 256 }, (_, index) => Math.sin(index + 1));

function burn(units) {
  let accumulator = 0;
  for (let unit = 0; unit < units; unit++) {
    let dot = 0;
    let squares = 0;
    for (let index = 0; index < VECTOR.length; index++) {
      const value = VECTOR[index] * (1 + ((unit + index) & 7) * 1e-3);
      dot += value * VECTOR[(index + unit) & 255];
      squares += value * value;
    }
    accumulator += dot / Math.sqrt(squares);
  }
  return accumulator;
}

function cpuMs() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * Units that take about `targetMs` of CPU in this process: the median of five timings of 50,000
 * units each, after a warm-up long enough for the loop to reach its optimised tier, as it has in a
 * worker that has run a few jobs.
 */
function unitsForMs(targetMs, msPerUnit = measureMsPerUnit()) {
  return Math.max(1, Math.round(targetMs / msPerUnit));
}

function measureMsPerUnit() {
  const sample = 50_000;
  for (let warmUp = 0; warmUp < 4; warmUp++) burn(sample);
  const timings = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = cpuMs();
    burn(sample);
    timings.push(cpuMs() - before);
  }
  timings.sort((left, right) => left - right);
  return timings[2] / sample;
}

module.exports = { burn, unitsForMs };
