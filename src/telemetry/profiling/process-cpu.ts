/**
 * CPU time (user + system) the process used since the previous call, in ms: what the overhead cap
 * weighs profiling against. The first call counts from when this was made.
 */
export function processCpuSinceLastCall(): () => number {
  let last = process.cpuUsage();
  return () => {
    const now = process.cpuUsage();
    const ms = (now.user - last.user + now.system - last.system) / 1000;
    last = now;
    return ms;
  };
}
