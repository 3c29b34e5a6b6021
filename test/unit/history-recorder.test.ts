// The recorder writes its history while the run goes: a SIGKILLed run must leave all but about
// the last 100 ms of its events on disk, without waiting for a buffer to fill.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FLUSH_INTERVAL_MS, HistoryRecorder } from '../../harness/history/recorder.js';

describe('HistoryRecorder', () => {
  it('writes buffered events out within about FLUSH_INTERVAL_MS of real time, with no further event', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'deliverycheck-recorder-')), 'h.jsonl');
    const recorder = new HistoryRecorder(path);
    for (let seq = 0; seq < 10; seq++) recorder.record({ type: 'send', id: `p0-${seq}`, producer: 0, seq, key: 'k' });
    // Buffered, not yet written: the few lines are far from the size that would flush them.
    expect(readFileSync(path, 'utf8')).toBe('');
    const startedMs = performance.now();
    while (readFileSync(path, 'utf8') === '' && performance.now() - startedMs < 5_000) await delay(10);
    const waitedMs = performance.now() - startedMs;
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(10);
    // A loaded machine delays timers, hence the slack; a size-only flush would never come.
    expect(waitedMs).toBeLessThan(FLUSH_INTERVAL_MS + 2_000);
    recorder.record({ type: 'phase', name: 'done' });
    // A phase line is written at once.
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(11);
    recorder.close();
  });
});
