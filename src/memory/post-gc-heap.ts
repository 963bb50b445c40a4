import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MB = 1024 * 1024;

export interface HeapReading {
  timestampMs: number;
  /** Used heap after a major GC (forced, or the lowest seen since the last reading). */
  heapUsedMb: number;
  rssMb: number;
  /** How the reading was made: a GC this process forced, a major GC V8 ran by itself, or neither. */
  source: 'forced-gc' | 'major-gc' | 'no-gc-seen';
}

let forcedGc: (() => void) | undefined;

/**
 * A `gc()` without starting Node with --expose-gc: the flag is set at runtime and the function
 * fetched from a fresh context. Only leak checks and demo/test heap sampling ask for it; production
 * sampling relies on the GCs V8 runs anyway.
 */
export function enableForcedGc(): () => void {
  if (!forcedGc) {
    setFlagsFromString('--expose-gc');
    forcedGc = runInNewContext('gc') as () => void;
  }
  return forcedGc;
}

/**
 * Post-GC used heap, never RSS alone: RSS includes freed pages the allocator keeps and native
 * memory, so it climbs on healthy processes. After a major GC, used heap is what is really live.
 */
export class PostGcHeapReader {
  private lowestPostGcBytes?: number;
  private readonly observer?: PerformanceObserver;

  constructor(private readonly options: { forceGc: boolean }) {
    if (options.forceGc) {
      enableForcedGc();
    } else {
      // Watch the major GCs V8 runs by itself and keep the lowest heap after one: that is the floor
      // of the GC sawtooth, the number a trend test can compare hour to hour.
      this.observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
          if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
          const used = getHeapStatistics().used_heap_size;
          this.lowestPostGcBytes = Math.min(this.lowestPostGcBytes ?? used, used);
        }
      });
      this.observer.observe({ entryTypes: ['gc'] });
    }
  }

  read(): HeapReading {
    let usedBytes: number;
    let source: HeapReading['source'];
    if (this.options.forceGc) {
      forcedGc!();
      usedBytes = getHeapStatistics().used_heap_size;
      source = 'forced-gc';
    } else if (this.lowestPostGcBytes !== undefined) {
      usedBytes = this.lowestPostGcBytes;
      source = 'major-gc';
    } else {
      usedBytes = getHeapStatistics().used_heap_size;
      source = 'no-gc-seen';
    }
    this.lowestPostGcBytes = undefined;
    return {
      timestampMs: Date.now(),
      heapUsedMb: round(usedBytes / MB),
      rssMb: round(process.memoryUsage.rss() / MB),
      source,
    };
  }

  close(): void {
    this.observer?.disconnect();
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
