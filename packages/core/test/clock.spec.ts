import { describe, expect, it } from '@jest/globals';

import { Segment, Subsegment } from '../src/index.js';
import { epochSeconds, formatEpoch, roundEpoch } from '../src/clock.js';

describe('time formatting', () => {
  it('should write epoch seconds as JSON numbers with six decimals that read back as the rounded value', () => {
    const now = Date.now() / 1000;
    for (let i = 0; i < 200_000; i++) {
      const t = now + Math.random() * 4e6 - 2e6;
      const text = formatEpoch(t);
      expect(text).toMatch(/^\d{10}\.\d{6}$/);
      const back = JSON.parse(text) as number;
      if (back !== roundEpoch(t) || Math.abs(back - t) > 7.5e-7) throw new Error(`${t} -> ${text}`);
    }
  });

  it('should carry into the next second and keep leading zeros of the microseconds', () => {
    expect(formatEpoch(1795296576 + 0.9999996)).toBe('1795296577.000000');
    expect(formatEpoch(1795296576.000001)).toBe('1795296576.000001');
    expect(formatEpoch(1795296576.5)).toBe('1795296576.500000');
    expect(formatEpoch(1795296576)).toBe('1795296576.000000');
    expect(formatEpoch(0)).toBe('0.000000');
  });

  it('should fall back to JSON for values it cannot write exactly', () => {
    expect(formatEpoch(-1.5)).toBe('-1.5');
    expect(formatEpoch(1e12)).toBe('1000000000000');
    expect(formatEpoch(Number.NaN)).toBe('null');
    expect(roundEpoch(-1.5)).toBe(-1.5);
  });

  it('should give the clock sub-millisecond resolution', () => {
    // The smallest step of 20 (one can be long when the process is descheduled on a loaded machine);
    // a millisecond clock never steps by less than 0.001.
    let smallest = Infinity;
    const first = epochSeconds();
    for (let i = 0; i < 20; i++) {
      const a = epochSeconds();
      let b = epochSeconds();
      while (b === a) b = epochSeconds();
      smallest = Math.min(smallest, b - a);
    }
    expect(smallest).toBeLessThan(0.0005);
    expect(Math.abs(first - Date.now() / 1000)).toBeLessThan(1);
  });
});

describe('clock', () => {
  it('should anchor new segments to the wall clock when it is stepped, and keep durations monotonic', () => {
    const realNow = Date.now;
    const before = new Segment('before');
    const hour = 3600_000;
    try {
      // The wall clock is stepped an hour ahead (NTP, a resumed host); the monotonic clock is not.
      Date.now = () => realNow() + hour;
      const after = new Segment('after');
      expect(after.start_time * 1000).toBeGreaterThan(realNow() + hour - 50);
      expect(after.start_time - before.start_time).toBeGreaterThan(3599);
      // A subsegment of the segment begun before the step: measured on that segment's clock.
      const sub = new Subsegment('work', before);
      sub.close();
      expect(sub.start_time - before.start_time).toBeGreaterThanOrEqual(0);
      expect(sub.start_time - before.start_time).toBeLessThan(1);
      // Trace ids carry the stepped wall time too.
      expect(parseInt(after.trace_id.split('-')[1], 16)).toBe(Math.floor((realNow() + hour) / 1000));
    } finally {
      Date.now = realNow;
    }
    const back = new Segment('back');
    expect(Math.abs(back.start_time * 1000 - Date.now())).toBeLessThan(50);
  });
});
