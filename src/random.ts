/** A uniform draw in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny seedable 32-bit PRNG (Math.random cannot be seeded), used wherever a run must
 * be reproducible from one integer: synthetic documents, simulated heap series.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
