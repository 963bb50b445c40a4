/**
 * CPU time (user + system) the process used since the previous reading, in ms: what the overhead cap
 * weighs profiling against. Read at most once per `minIntervalMs` unless forced, 0 in between (the
 * time is not lost: the next reading includes it): process.cpuUsage() is a getrusage call that
 * showed 49 µs per job in a worker's CPU profile, and the cap sums per second anyway.
 */
export function processCpuSinceLastReading(minIntervalMs = 1000, now: () => number = Date.now): (force?: boolean) => number {
  let last = process.cpuUsage();
  let lastAt = now();
  return (force = false) => {
    const at = now();
    if (!force && at - lastAt < minIntervalMs) return 0;
    const current = process.cpuUsage();
    const ms = (current.user - last.user + current.system - last.system) / 1000;
    last = current;
    lastAt = at;
    return ms;
  };
}
