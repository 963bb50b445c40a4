/** Does `units` units of fixed CPU work; returns a checksum so the work cannot be optimised away. */
export declare function burn(units: number): number;
/** Units that take about `targetMs` of CPU: at `msPerUnit`, or as measured in this process at the call. */
export declare function unitsForMs(targetMs: number, msPerUnit?: number): number;
