// Resident memory for the micro-benchmarks. The peak that matters for the checker is the peak while
// it checks one history, not the peak of the whole process (which the generator of the history,
// or an earlier and larger size, may have set). On Linux the kernel's high-water mark of resident
// memory can be reset by writing 5 to /proc/self/clear_refs, so a size's peak is its own; elsewhere
// only the process's lifetime peak is known, and the figure says so.

import { readFileSync, writeFileSync } from 'node:fs';

export interface PeakWindow {
  /** The highest resident memory since the window opened, in bytes. */
  readonly peakRssBytes: () => number;
  /** False when the peak is the whole process's, because the high-water mark could not be reset. */
  readonly own: boolean;
}

function highWaterMarkBytes(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Starts measuring the peak resident memory from now on. */
export function openPeakWindow(): PeakWindow {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    if (highWaterMarkBytes() !== undefined) {
      return { own: true, peakRssBytes: () => Math.max(highWaterMarkBytes() ?? 0, process.memoryUsage.rss()) };
    }
  } catch {
    // Not Linux, or not allowed: fall through to the lifetime peak.
  }
  return { own: false, peakRssBytes: () => process.resourceUsage().maxRSS * 1024 };
}
