/** CPU time (user + system, every thread) this process has used so far, in ms. */
export function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * CPU time (user + system) the process used since the previous reading, in ms: what the overhead cap
 * weighs profiling against. Read at most once per `minIntervalMs` unless forced, 0 in between (the
 * time is not lost: the next reading includes it): process.cpuUsage() is a getrusage call that
 * showed 49 µs per job in a worker's CPU profile, and the cap sums per second anyway.
 */
export function processCpuSinceLastReading(minIntervalMs = 1000, now: () => number = Date.now): (force?: boolean) => number {
  let last = processCpuMs();
  let lastAt = now();
  return (force = false) => {
    const at = now();
    if (!force && at - lastAt < minIntervalMs) return 0;
    const current = processCpuMs();
    const ms = current - last;
    last = current;
    lastAt = at;
    return ms;
  };
}
