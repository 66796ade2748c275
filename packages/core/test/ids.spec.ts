import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { describe, expect, it } from '@jest/globals';

import { newEntityId, newTraceId } from '../src/propagation/ids.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('ids', () => {
  it('should make lowercase hex ids of the X-Ray formats, all distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = newEntityId();
      if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`bad id ${id}`);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
    const now = Date.now();
    const traceId = newTraceId(now);
    expect(traceId).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(parseInt(traceId.slice(2, 10), 16)).toBe(Math.floor(now / 1000));
    expect(newTraceId(now).slice(11)).not.toBe(traceId.slice(11));
  });

  it('should not keep the random pool alive through ids an application keeps', () => {
    // One entity id of every 8 KB block of the pool is kept: 4,000 blocks. Ids that were views into
    // the block (V8 sliced strings) would keep all 32 MB alive.
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept: string[] = [];
    for (let i = 0; i < 4_000 * 512; i++) {
      const id = newEntityId();
      if (i % 512 === 0) kept.push(id);
    }
    const traces: string[] = [];
    for (let i = 0; i < 4_000 * 342; i++) {
      const id = newTraceId();
      if (i % 342 === 0) traces.push(id);
    }
    gc();
    const grown = (process.memoryUsage().heapUsed - before) / 1e6;
    expect(kept).toHaveLength(4_000);
    expect(traces).toHaveLength(4_000);
    expect(grown).toBeLessThan(8);
  });
});
