/** Does `units` units of fixed CPU work; returns a checksum so the work cannot be optimised away. */
export declare function burn(units: number): number;
/** Units that take about `targetMs` of CPU in this process (calibrated at the call). */
export declare function unitsForMs(targetMs: number): number;
